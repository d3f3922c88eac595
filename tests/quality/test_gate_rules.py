"""How the gate decides between a block and a warning (README, "How the gate decides"):
shares are judged with enough evidence, expectations that need history are not
applicable without it, and an empty table has no column values to judge.

Each case is a tiny DuckDB file validated by the real runner (GX computing in DuckDB);
the expected decisions are worked out by hand from the rule, not read off the code.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from orchestration.quality import run_suite
from orchestration.quality.runner import ROW_COUNT, CheckResult, against_new_history, wilson_upper
from orchestration.quality.suites import discover
from orchestration.quality.thresholds import parameters

NO_HISTORY = "no previous load or publish to compare with"
SHARE_SUITE = {
    "name": "ids",
    "meta": {"table": "main.ids", "row_id_columns": ["row_no"]},
    "expectations": [
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": {"$PARAMETER": "min_row_count"}},
            "severity": "critical",
        },
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {
                "min_value": {"$PARAMETER": "row_count_min"},
                "max_value": {"$PARAMETER": "row_count_max"},
            },
            "severity": "critical",
            "meta": {"needs": "history"},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {
                "column": "is_id_valid",
                "value_set": [True],
                "mostly": {"$PARAMETER": "id_valid_min_share"},
            },
            "severity": "critical",
        },
    ],
}


def _ids_db(tmp_path: Path, valid: int, invalid: int) -> Path:
    path = tmp_path / f"ids_{valid}_{invalid}.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table ids as select range as row_no, range >= ? as is_id_valid from range(?)",
            [invalid, valid + invalid],
        )
    return path


def _decisions(tmp_path, valid, invalid, suite=SHARE_SUITE, **kwargs):
    (tmp_path / "ids.json").write_text(json.dumps(suite), encoding="utf-8")
    from orchestration.quality.runner import load_suite

    loaded = load_suite("ids", directory=tmp_path, parameters=kwargs.pop("parameters", None))
    results = run_suite(_ids_db(tmp_path, valid, invalid), "main.ids", loaded, **kwargs)
    return [(r.expectation, r.decision) for r in results], results


def test_wilson_bound_by_hand():
    # 10 of 11 at z = 1.645: p = .909; (p + z²/2n + z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    assert wilson_upper(10, 11, 1.645) == pytest.approx(0.9795, abs=5e-4)
    assert wilson_upper(0, 11, 1.645) == pytest.approx(0.1974, abs=5e-4)
    assert wilson_upper(910, 1000, 1.645) == pytest.approx(0.9238, abs=5e-4)


def test_one_bad_id_among_eleven_lines_warns_with_its_row(tmp_path):
    decisions, results = _decisions(tmp_path, 10, 1, no_history=NO_HISTORY)
    assert decisions == [
        ("expect_table_row_count_to_be_between", "passed"),
        ("expect_table_row_count_to_be_between", "not_applicable"),
        ("expect_column_values_to_be_in_set", "warned"),
    ]
    share = results[2]
    assert share.unexpected_count == 1 and share.examples == [{"row_no": 0, "is_id_valid": False}]
    assert "10 of 11 good" in share.note and "证据不足" in share.note
    assert results[1].observed_value == 11  # still observed: the next run's baseline


def test_a_column_of_garbage_blocks(tmp_path):
    decisions, results = _decisions(tmp_path, 0, 11, no_history=NO_HISTORY)
    assert decisions[2] == ("expect_column_values_to_be_in_set", "blocked")
    assert results[2].blocks and results[2].note is None


def test_a_systemic_share_among_many_rows_blocks(tmp_path):
    # 91% valid among 1,000 against 95%: the bound, 0.924, is below the threshold
    decisions, _ = _decisions(tmp_path, 910, 90, no_history=NO_HISTORY)
    assert decisions[2] == ("expect_column_values_to_be_in_set", "blocked")


def test_with_history_the_row_count_is_judged(tmp_path):
    decisions, _ = _decisions(
        tmp_path, 11, 0, parameters={"row_count_min": 100, "row_count_max": 300}
    )
    assert decisions[1] == ("expect_table_row_count_to_be_between", "blocked")


def test_an_empty_table_has_nothing_to_judge_but_must_not_be_empty(tmp_path):
    decisions, results = _decisions(tmp_path, 0, 0, no_history=NO_HISTORY)
    assert decisions == [
        ("expect_table_row_count_to_be_between", "blocked"),  # never empty
        ("expect_table_row_count_to_be_between", "not_applicable"),
        ("expect_column_values_to_be_in_set", "not_applicable"),
    ]
    assert "the table is empty" in results[2].note


def test_a_suite_that_does_not_apply_is_not_applicable_as_a_whole(tmp_path):
    suite = {
        **SHARE_SUITE,
        "meta": {
            **SHARE_SUITE["meta"],
            "applies_when": {"query": "select count(*) > 100 from ids", "reason": "too few"},
        },
    }
    decisions, results = _decisions(tmp_path, 0, 11, suite=suite)
    assert [d for _, d in decisions] == ["not_applicable"] * 3
    assert {r.note for r in results} == {"too few"}


@pytest.fixture
def manifest_db(tmp_path):
    """raw.load_manifest of four files, as the ingest writes it, all seen now."""
    path = tmp_path / "build.duckdb"
    files = [  # name, rows read, quarantined, stated, loaded, reconciled
        ("one_ragged_in_11.csv", 11, 1, None, None, None),
        ("one_ragged_in_40.csv", 40, 1, None, None, None),
        ("mostly_unreadable.csv", 11, 8, None, None, None),
        ("total_off.csv", 11, 0, 100, 90, False),
    ]
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.file_sightings (source varchar, file_name varchar, "
            "file_sha256 varchar, last_seen_at timestamp)"
        )
        con.execute(
            "create table raw.load_manifest (file_sha256 varchar, source varchar, "
            "file_name varchar, status varchar, error varchar, rows_read integer, "
            "rows_loaded integer, rows_quarantined integer, stated_total decimal(18, 2), "
            "loaded_total decimal(18, 2), is_total_reconciled boolean)"
        )
        for name, read, quarantined, stated, loaded, ok in files:
            con.execute(
                "insert into raw.file_sightings values ('population', ?, ?, '2026-12-04 02:00')",
                [name, name],
            )
            con.execute(
                "insert into raw.load_manifest values (?, 'population', ?, 'loaded', null, "
                "?, ?, ?, ?, ?, ?)",
                [name, name, read, read - quarantined, quarantined, stated, loaded, ok],
            )
    return path


def test_quarantined_lines_block_only_when_the_file_is_broken(manifest_db):
    (check,) = [c for c in discover() if c.name == "load_manifest__population"]
    results = run_suite(manifest_db, check.table, check.suite, query=check.query)
    by_column = {r.column: r for r in results if r.column}
    systemic = by_column["is_quarantine_systemic"]
    assert systemic.blocks
    assert [e["file_name"] for e in systemic.examples] == ["mostly_unreadable.csv"]
    share = by_column["quarantined_share"]  # above 1%: reported, with every such file
    assert share.decision == "warned" and share.unexpected_count == 3
    total = by_column["is_total_reconciled"]
    assert total.blocks and [e["file_name"] for e in total.examples] == ["total_off.csv"]


def test_the_confidence_is_a_parameter(monkeypatch):
    monkeypatch.setenv("EDUAID_QUALITY_EVIDENCE_CONFIDENCE", "0.5")
    assert parameters()["evidence_z"] == pytest.approx(0.0)


def _payments_db(tmp_path: Path, lines: list[tuple[str, float]], files) -> Path:
    """marts.fct_disbursement lines (file, amount) and the manifest rows of their files
    (file, lines loaded, stated total or None)."""
    path = tmp_path / "payments.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create schema marts")
        con.execute(
            "create table raw.load_manifest (file_sha256 varchar, source varchar, "
            "file_name varchar, status varchar, rows_loaded integer, "
            "stated_total decimal(18, 2), total_kind varchar)"
        )
        for name, loaded, stated in files:
            con.execute(
                "insert into raw.load_manifest values (?, 'disbursements', ?, 'loaded', ?, ?, ?)",
                [name, name, loaded, stated, None if stated is None else "amount"],
            )
        con.execute(
            "create table marts.fct_disbursement "
            "(source_file_sha256 varchar, amount_yuan decimal(12, 2))"
        )
        con.executemany("insert into marts.fct_disbursement values (?, ?)", lines)
    return path


def _reconciled(path: Path) -> dict[str, object]:
    (check,) = [c for c in discover() if c.name == "fct_disbursement__reconciliation"]
    results = run_suite(path, check.table, check.suite, query=check.query)
    return {(r.column or r.expectation): r for r in results}


def test_files_without_a_stated_total_are_listed_not_counted_as_zero(tmp_path):
    """Issue 12: a landing where some payment lists have no 合计 row was blocked, those
    files counting as 0 in the loaded total although every line was there."""
    lines = [("with_total.csv", 500), ("with_total.csv", -100), ("no_total.csv", 250)]
    files = [("with_total.csv", 2, 400), ("no_total.csv", 1, None)]
    results = _reconciled(_payments_db(tmp_path, lines, files))
    assert not [r for r in results.values() if r.blocks]
    assert results["is_stated_total_reconciled"].decision == "passed"
    listed = results["has_stated_total"]
    assert listed.decision == "warned" and listed.examples[0]["file_name"] == "no_total.csv"


def test_a_file_whose_lines_miss_its_stated_total_blocks(tmp_path):
    lines = [("with_total.csv", 500), ("no_total.csv", 250)]
    files = [("with_total.csv", 1, 400), ("no_total.csv", 1, None)]
    results = _reconciled(_payments_db(tmp_path, lines, files))
    bad = results["is_stated_total_reconciled"]
    assert bad.blocks and [e["file_name"] for e in bad.examples] == ["with_total.csv"]


def test_a_line_lost_between_the_ingest_and_the_mart_blocks(tmp_path):
    lines = [("with_total.csv", 400)]
    files = [("with_total.csv", 2, 400)]
    results = _reconciled(_payments_db(tmp_path, lines, files))
    assert results["expect_column_pair_values_to_be_equal"].blocks


def test_a_carried_row_count_is_judged_against_the_new_bounds():
    """A table that stood still keeps its count; the bounds around the previous publish
    move: the carried count is judged again, as GX would (within min and max)."""
    count = CheckResult(ROW_COUNT, None, "critical", True, observed_value=100, needs_history=True)
    share = CheckResult("expect_column_values_to_be_in_set", "is_id_valid", "critical", True)
    judged = against_new_history([count, share], {"row_count_min": 90, "row_count_max": 110}, None)
    assert judged == [count, share]
    (fell, same) = against_new_history(
        [count, share], {"row_count_min": 180, "row_count_max": 220}, None
    )
    assert (fell.success, fell.decision, same) == (False, "blocked", share)
    (first, _) = against_new_history([count, share], {}, NO_HISTORY)
    assert (first.applicable, first.note) == (False, NO_HISTORY)
    other = CheckResult(
        "expect_column_mean_to_be_between", "x", "critical", True, needs_history=True
    )
    assert against_new_history([other], {}, None) is None  # only a row count can be carried
