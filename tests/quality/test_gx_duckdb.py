"""Great Expectations really computes on DuckDB: planted bad rows fail exactly their expectation.

Each test builds a DuckDB file of a few rows shaped like marts.fct_disbursement and
validates it with a suite of the same format as `expectations/` (tests/quality/payments.json:
each kind of row-level expectation the suites use, the key's uniqueness and presence and a
vocabulary as the staging suites check their inputs, the amount's range and the payment
date as `expectations/fct_disbursement.json` does; tests/dbt/test_quality_gate.py runs the
real suites on a built county).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import great_expectations as gx
import pytest
from great_expectations.core.expectation_validation_result import (
    ExpectationValidationResult,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from orchestration.quality import NOTHING_OBSERVED, blocking, load_suite, run_suite
from orchestration.quality.gx_duckdb import DuckDBExecutionEngine
from orchestration.quality.runner import EXAMPLES, _check_result, ephemeral_context
from orchestration.quality.thresholds import parameters

TABLE = "marts.fct_disbursement"
SUITES = Path(__file__).parent  # payments.json
COLUMNS = "disbursement_key, program_code, amount_yuan, source_file, source_row, paid_on"
CLEAN = [
    ("k1", "BOARD", 625.00, "pay_2024s.xlsx", 3, "2024-03-15"),
    ("k2", "HS_GRANT", 1150.00, "pay_2024s.xlsx", 4, "2024-03-15"),
    ("k3", "LOAN", 12000.00, "pay_2024a.xls", 5, "2024-10-08"),
    ("k4", "BOARD", -625.00, "pay_2024a.xls", 6, "2024-10-09"),  # a refund
]
# kind -> (planted row, the one expectation it breaks, its unexpected count)
PLANTED = {
    "duplicate key": (
        ("k2", "BOARD", 625.00, "pay_2024a.xls", 99, "2024-10-08"),
        ("expect_column_values_to_be_unique", "disbursement_key"),
        2,  # GX counts every row sharing the key: the planted one and k2's original
    ),
    "null key": (
        (None, "BOARD", 625.00, "pay_2024a.xls", 99, "2024-10-08"),
        ("expect_column_values_to_not_be_null", "disbursement_key"),
        1,
    ),
    "amount out of range": (
        ("k9", "BOARD", 62500.00, "pay_2024a.xls", 99, "2024-10-08"),
        ("expect_column_values_to_be_between", "amount_yuan"),
        1,
    ),
    "programme outside the accepted set": (
        ("k9", "LUNCH", 625.00, "pay_2024a.xls", 99, "2024-10-08"),
        ("expect_column_values_to_be_in_set", "program_code"),
        1,
    ),
    "missing payment date (warning)": (
        ("k9", "BOARD", 625.00, "pay_2024a.xls", 99, None),
        ("expect_column_values_to_not_be_null", "paid_on"),
        1,
    ),
}


def payments(parameters=None):
    return load_suite("payments", directory=SUITES, parameters=parameters)


def make_db(path, rows):
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        f"create table {TABLE} (disbursement_key varchar, program_code varchar,"
        " amount_yuan decimal(12, 2), source_file varchar, source_row integer, paid_on date)"
    )
    if rows:
        con.executemany(f"insert into {TABLE} ({COLUMNS}) values (?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


def observed(r) -> bool:
    return r.observed_value is not None or r.unexpected_count is not None


def test_clean_table_passes_with_an_observed_value_on_every_expectation(tmp_path):
    results = run_suite(make_db(tmp_path / "clean.duckdb", CLEAN), TABLE, payments())

    assert len(results) == len(payments().expectations)
    for r in results:
        assert r.success, r
        assert observed(r), r
        assert r.problem is None
    row_count = next(r for r in results if r.expectation.startswith("expect_table_row_count"))
    assert row_count.observed_value == len(CLEAN)
    assert blocking(results) == []


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_bad_row_fails_exactly_its_expectation(tmp_path, kind):
    row, (expectation, column), count = PLANTED[kind]
    results = run_suite(make_db(tmp_path / "bad.duckdb", [*CLEAN, row]), TABLE, payments())

    failed = [r for r in results if not r.success]
    assert [(r.expectation, r.column) for r in failed] == [(expectation, column)]
    (bad,) = failed
    assert bad.unexpected_count == count
    assert bad.problem is None
    planted = {"disbursement_key": row[0], "source_file": row[3], "source_row": 99}
    assert any(planted.items() <= e.items() for e in bad.examples), bad.examples
    assert all(observed(r) for r in results)
    assert [r.expectation for r in blocking(results)] == (
        [] if bad.severity == "warning" else [expectation]
    )


def test_thresholds_are_parameters_not_literals(tmp_path, monkeypatch):
    db = make_db(tmp_path / "clean.duckdb", CLEAN)
    results = run_suite(db, TABLE, payments({"disbursement_amount_max_yuan": 1000}))
    (bad,) = [r for r in results if not r.success]
    assert (bad.column, bad.unexpected_count) == ("amount_yuan", 2)  # 1150 and 12000
    assert {e["disbursement_key"] for e in bad.examples} == {"k2", "k3"}

    monkeypatch.setenv("EDUAID_QUALITY_DISBURSEMENT_AMOUNT_MAX_YUAN", "30000")
    assert parameters()["disbursement_amount_max_yuan"] == 30000


def test_the_table_stays_in_duckdb(tmp_path, monkeypatch):
    """1,000 bad rows: counted in DuckDB, no more than EXAMPLES rows come back to Python."""
    db = make_db(tmp_path / "big.duckdb", [])
    with duckdb.connect(str(db)) as con:
        con.execute(
            f"insert into {TABLE} ({COLUMNS}) select 'k' || i, 'BOARD', 625, 'f.xlsx', i,"
            " date '2024-03-15' from range(1000) t(i)"
        )
    fetched: list[int] = []
    buffered = DuckDBExecutionEngine.execute_query

    def counting(self, query):
        frozen = buffered(self, query).freeze()
        fetched.append(len(frozen.data))
        return frozen()

    monkeypatch.setattr(DuckDBExecutionEngine, "execute_query", counting)
    results = run_suite(db, TABLE, payments({"disbursement_amount_max_yuan": 600}))

    (bad,) = [r for r in results if not r.success]
    assert (bad.column, bad.unexpected_count, len(bad.examples)) == ("amount_yuan", 1000, EXAMPLES)
    assert fetched and max(fetched) <= EXAMPLES


def test_a_result_with_nothing_observed_is_a_failure():
    config = ExpectationConfiguration(
        type="expect_column_values_to_be_unique", kwargs={"column": "disbursement_key"}
    )
    # even when GX itself calls it a success
    for gx_success in (True, False):
        empty = ExpectationValidationResult(
            success=gx_success, result={}, expectation_config=config
        )
        checked = _check_result(empty)
        assert (checked.success, checked.problem, checked.blocks) == (
            False,
            NOTHING_OBSERVED,
            True,
        )


def test_what_gx_cannot_compute_fails_with_its_reason(tmp_path):
    db = make_db(tmp_path / "clean.duckdb", CLEAN)
    suite = gx.ExpectationSuite(
        name="uncomputable",
        expectations=[
            ExpectationConfiguration(
                type="expect_column_values_to_match_regex",
                kwargs={"column": "disbursement_key", "regex": "^k[0-9]$"},
                severity="warning",
            ).to_domain_obj(),
            ExpectationConfiguration(
                type="expect_column_values_to_not_be_null",
                kwargs={"column": "no_such_column"},
                severity="critical",
            ).to_domain_obj(),
        ],
    )
    by_column = {r.column: r for r in run_suite(db, TABLE, suite)}
    regex, missing = by_column["disbursement_key"], by_column["no_such_column"]
    assert not regex.success and "Regex is not supported" in regex.problem
    assert not missing.success and "no_such_column" in missing.problem
    assert blocking([regex, missing]) == [missing]


def test_stock_gx_still_computes_nothing_on_duckdb(tmp_path):
    """Canary: when this fails, GX computes on duckdb-engine by itself and
    orchestration/quality/gx_duckdb.py can go."""
    db = make_db(tmp_path / "clean.duckdb", CLEAN)
    source = ephemeral_context().data_sources.add_sql(
        name="stock", connection_string=f"duckdb:///{db}"
    )
    batch = (
        source.add_query_asset(name="t", query=f"select * from {TABLE}")
        .add_batch_definition_whole_table("all")
        .get_batch()
    )
    result = batch.validate(gx.expectations.ExpectTableRowCountToBeBetween(min_value=1))
    source.get_engine().dispose()
    assert result.success is False
    assert result.result == {}
    assert "list index out of range" in json.dumps(result.exception_info, default=str)


def test_every_suite_states_the_severity_of_every_expectation(tmp_path):
    suite = load_suite("fct_disbursement")
    assert suite.meta["table"] == TABLE
    assert {e.severity.value for e in suite.expectations} == {"critical", "warning"}

    (tmp_path / "bad.json").write_text(
        json.dumps({"name": "bad", "expectations": [{"type": "x", "kwargs": {}}]}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="severity"):
        load_suite("bad", directory=tmp_path)
