"""The quality gate on a built county (seed 7): every check passes with observed values, and
one planted bad row of each kind fails exactly the expectation it breaks; a planted
duplicate key, unknown foreign key or value outside a vocabulary fails exactly dbt's test
of it (grain, keys and vocabularies are dbt's to test, not the suites').

Each planted case works on a copy of the county's build database (named build.duckdb,
the catalog its dbt views name), changes one row, and runs the one check concerned.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from dbt_helpers import build_db, run_dbt, snapshot_db

from orchestration.dbt.build_state import BuildState, NodeBuild, model_id
from orchestration.quality.gate import gate_of_run, run_check, run_gate
from orchestration.quality.history import PUBLISHED, ROW_COUNT, History
from orchestration.quality.runner import RunDocs, build_docs
from orchestration.quality.suites import discover
from orchestration.settings import get_settings

CHECKS = {c.name: c for c in discover()}


@pytest.fixture(scope="module")
def county_db(built_seed7, tmp_path_factory):
    """A copy: dbt-duckdb, run in this process, keeps the original open read-write, and
    DuckDB refuses a second, read-only connection to it from the same process."""
    return snapshot_db(built_seed7.database, tmp_path_factory.mktemp("gate") / "build.duckdb")


@pytest.fixture
def settings_for(tmp_path):
    def make(database: Path):
        return get_settings(
            {"EDUAID_WAREHOUSE": str(tmp_path / "warehouse"), "EDUAID_BUILD_DB": str(database)}
        )

    return make


@pytest.fixture
def planted(tmp_path, county_db, settings_for) -> Callable[[str, str], list]:
    """`planted(sql, check)`: run `check` on a copy of the county with `sql` applied."""

    def plant(sql: str, check: str):
        copy = tmp_path / "copy" / "build.duckdb"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(county_db, copy)
        with duckdb.connect(str(copy)) as con:
            con.execute(sql)
        return run_check(settings_for(copy), CHECKS[check], "planted")

    return plant


def test_the_clean_county_passes_every_check_with_observed_values(county_db, settings_for):
    settings = settings_for(county_db)
    gate = run_gate(settings, "clean")

    assert set(gate) == set(CHECKS)
    for name, results in gate.items():
        assert results, name
        for r in results:
            assert r.success, (name, r)
            assert r.problem is None, (name, r)
            assert r.observed_value is not None or r.unexpected_count is not None, (name, r)
    # what the publish step reads back is what ran
    assert gate_of_run(settings, "clean") == gate
    # the Data Docs site of the run lists every check
    index = (settings.warehouse / "reports" / "data_docs" / "clean" / "index.html").read_text()
    for name in CHECKS:
        assert name in index, name


# kind -> (SQL planting one bad row, the check, the one expectation it breaks and its column,
#          the unexpected count or observed value)
PLANTED = {
    "a refund beyond the largest cap": (
        # a refund is never off the standard (is_amount_standard_or_found): only the range
        "update marts.fct_disbursement set amount_yuan = -30000 "
        "where disbursement_key = (select min(disbursement_key) from marts.fct_disbursement)",
        "fct_disbursement",
        ("expect_column_values_to_be_between", "amount_yuan"),
        1,
    ),
    "amount off the standard with no finding": (
        # a board subsidy paid 1 yuan more than any standard, on a line no finding names
        """update marts.fct_disbursement set amount_yuan = amount_yuan + 1
        where disbursement_key = (
            select min(d.disbursement_key) from marts.fct_disbursement as d
            where d.program_code = 'BOARD' and not d.is_refund and d.disbursement_key not in (
                select unnest(disbursement_keys) from marts.fct_audit_finding
                where disbursement_keys is not null))""",
        "fct_disbursement",
        ("expect_column_values_to_be_in_set", "is_amount_standard_or_found"),
        1,
    ),
    "a payment line lost between the ingest and the mart": (
        "delete from marts.fct_disbursement "
        "where disbursement_key = (select min(disbursement_key) from marts.fct_disbursement)",
        "fct_disbursement__reconciliation",
        None,  # both the line count and the total differ: checked below
        None,
    ),
    "coverage rate above one": (
        "update marts.rpt_aid_coverage set coverage_rate = 1.2 "
        "where rowid = (select min(rowid) from marts.rpt_aid_coverage)",
        "rpt_aid_coverage",
        ("expect_column_values_to_be_between", "coverage_rate"),
        1,
    ),
    "more students fully covered than entitled": (
        # the rate is left as it was: only the pair of counts is wrong
        "update marts.rpt_aid_coverage set fully_covered = entitled_students + 1 "
        "where rowid = (select min(rowid) from marts.rpt_aid_coverage)",
        "rpt_aid_coverage",
        ("expect_column_pair_values_a_to_be_greater_than_b", None),
        1,
    ),
    "an out-of-school child above the compulsory age": (
        "update marts.fct_out_of_school_child set age = 16 "
        "where rowid = (select min(rowid) from marts.fct_out_of_school_child)",
        "fct_out_of_school_child",
        ("expect_column_values_to_be_between", "age"),
        1,
    ),
    "a payment file the ingest rejected": (
        "update raw.load_manifest set status = 'rejected', error = 'planted' "
        "where file_name = (select min(file_name) from raw.load_manifest "
        "where source = 'disbursements')",
        "load_manifest__disbursements",
        ("expect_column_values_to_be_in_set", "status"),
        1,
    ),
    "a stated total that does not reconcile": (
        "update raw.load_manifest set is_total_reconciled = false "
        "where file_name = (select min(file_name) from raw.load_manifest "
        "where source = 'students')",
        "load_manifest__students",
        ("expect_column_values_to_not_be_in_set", "is_total_reconciled"),
        1,
    ),
}


@pytest.mark.parametrize("kind", PLANTED)
def test_a_planted_bad_row_fails_exactly_its_expectation(planted, kind):
    sql, check, broken, count = PLANTED[kind]
    results = planted(sql, check)

    failed = [r for r in results if not r.success]
    assert all(r.problem is None for r in results), results
    if broken is None:  # the reconciliation: the file's lines, and its total if it states one
        lines = [r for r in failed if r.expectation == "expect_column_pair_values_to_be_equal"]
        assert len(lines) == 1 and lines[0].blocks and lines[0].unexpected_count == 1
        assert {r.column for r in failed} <= {None, "is_stated_total_reconciled"}
        return
    assert [(r.expectation, r.column) for r in failed] == [broken]
    (bad,) = failed
    assert bad.blocks
    assert bad.unexpected_count == count


# (model, dbt test, column) -> (SQL planting one bad row in the model, failing rows)
PLANTED_FOR_DBT = {
    ("dim_student", "unique", "person_key"): (
        "insert into marts.dim_student select * from marts.dim_student "
        "where rowid = (select min(rowid) from marts.dim_student)",
        1,  # dbt counts the duplicated value, not its rows
    ),
    ("fct_disbursement", "relationships", "person_key"): (
        "update marts.fct_disbursement set person_key = 'nobody' "
        "where disbursement_key = (select min(disbursement_key) from marts.fct_disbursement)",
        1,
    ),
    ("rpt_aid_coverage", "unique_combination", None): (
        "insert into marts.rpt_aid_coverage select * from marts.rpt_aid_coverage "
        "where rowid = (select min(rowid) from marts.rpt_aid_coverage)",
        1,
    ),
    ("fct_enrollment_transition", "relationships", "transition"): (
        "update marts.fct_enrollment_transition set transition = 'vanished' "
        "where rowid = (select min(rowid) from marts.fct_enrollment_transition)",
        1,
    ),
}


def test_a_planted_key_or_vocabulary_violation_fails_exactly_its_dbt_test(county_db, tmp_path):
    """What the suites no longer restate: `dbt test` on the planted copy fails the one test
    of each planted row (and only those); in the pipeline that fails `dbt build`, so
    nothing downstream publishes (tests/dbt/test_publish_run.py)."""
    copy = tmp_path / "copy" / "build.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(county_db, copy)
    with duckdb.connect(str(copy)) as con:
        for sql, _ in PLANTED_FOR_DBT.values():
            con.execute(sql)
    models = sorted({model for model, _, _ in PLANTED_FOR_DBT})
    with build_db(copy):
        result = run_dbt(["test", "--select", *models, "--exclude", "test_type:unit"], tmp_path)

    assert result.result is not None, result.exception
    failed = {
        (
            r.node.attached_node.removeprefix("model.eduaid."),
            r.node.test_metadata.name,
            r.node.column_name,
        ): r.failures
        for r in result.result
        if str(r.status) in ("fail", "error")
    }
    assert failed == {test: count for test, (_, count) in PLANTED_FOR_DBT.items()}
    assert sum(str(r.status) == "pass" for r in result.result) > 20  # the others ran and passed


def test_row_count_against_the_previous_publish(county_db, settings_for, tmp_path):
    """A mart that lost most of its rows since the last publish fails its row count."""
    check = CHECKS["fct_enrollment_transition"]
    settings = settings_for(county_db)
    # the first run has no previous publish: the comparison is not applicable, but observed
    (first,) = [r for r in run_check(settings, check, "first") if r.decision == "not_applicable"]
    assert first.expectation == ROW_COUNT and first.observed_value > 0
    History(settings.warehouse / "reports").finish("first", PUBLISHED)

    copy = tmp_path / "copy" / "build.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(county_db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from marts.fct_enrollment_transition where rowid % 3 <> 0")
        (left,) = con.execute("select count(*) from marts.fct_enrollment_transition").fetchone()
    results = run_check(settings_for(copy), check, "second")

    failed = [r for r in results if not r.success]
    assert [r.expectation for r in failed] == [ROW_COUNT]
    assert failed[0].observed_value == left < first.observed_value / 2


def test_a_check_whose_tables_no_run_rebuilt_is_carried_over(county_db, settings_for, tmp_path):
    """The gate validates a table again only when a run rebuilt it (dbt's build state):
    the new batch's run carries over the results of the run that built the coverage
    report; once a run rebuilds it (here with a rate above one), it is validated again."""
    check = CHECKS["rpt_aid_coverage"]
    copy = tmp_path / "copy" / "build.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(county_db, copy)
    settings = settings_for(copy)

    def built_in(run: str) -> None:
        BuildState({model_id("rpt_aid_coverage"): NodeBuild(run, "project", {})}).write(copy)

    built_in("first")
    first = run_check(settings, check, "first")
    assert first and all(r.success for r in first)
    (no_history,) = [r for r in first if not r.applicable]  # a first run: nothing to compare
    assert no_history.expectation == ROW_COUNT and no_history.needs_history
    History(settings.warehouse / "reports").finish("first", PUBLISHED)
    with duckdb.connect(str(copy)) as con:  # changed behind the build state's back
        con.execute(PLANTED["coverage rate above one"][0])
    carried = run_check(settings, check, "second")  # not rebuilt since "first": not read
    # the same results, but the row count is now judged against the first run's publish
    assert [r for r in carried if r.needs_history] == [
        replace(no_history, applicable=True, success=True, note=None)
    ]
    assert [r for r in carried if not r.needs_history] == [r for r in first if not r.needs_history]
    built_in("third")  # a run rebuilt it
    third = run_check(settings, check, "third")
    assert [(r.expectation, r.column, r.unexpected_count) for r in third if not r.success] == [
        ("expect_column_values_to_be_between", "coverage_rate", 1)
    ]
    with duckdb.connect(str(settings.warehouse / "reports" / "validation_results.duckdb")) as con:
        carried_from = dict(
            con.execute(
                "select distinct run_id, carried_from from validation_result "
                "where check_name = 'rpt_aid_coverage'"
            ).fetchall()
        )
    assert carried_from == {"first": None, "second": "first", "third": None}
    # the second run's Data Docs site shows the carried suite (as validated in "first")
    reports = settings.warehouse / "reports"
    assert not (reports / "data_docs" / "second").exists()
    build_docs(RunDocs(reports, "second"))
    assert "validations/rpt_aid_coverage/first/" in (
        reports / "data_docs" / "second" / "index.html"
    ).read_text(encoding="utf-8")
