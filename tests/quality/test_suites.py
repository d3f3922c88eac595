"""The suites of `expectations/`: each is well formed, names its thresholds, and is a check
on an asset the pipeline has."""

from __future__ import annotations

import json

import pytest

from orchestration.dbt.project import prepare
from orchestration.ingest.reading import SOURCES
from orchestration.quality import load_suite
from orchestration.quality.history import ROW_COUNT
from orchestration.quality.runner import EXPECTATIONS_DIR
from orchestration.quality.suites import discover
from orchestration.quality.thresholds import parameters, row_count_bounds

CONTRACT_TABLES = {  # ../shared/contract/published_marts.md
    "dim_student",
    "dim_household",
    "dim_school",
    "dim_aid_program",
    "fct_enrollment",
    "fct_disbursement",
    "fct_aid_entitlement",
    "fct_enrollment_transition",
    "fct_out_of_school_child",
    "fct_audit_finding",
}


def test_every_published_table_and_every_source_has_a_check():
    checks = discover()
    tables = {c.table for c in checks}
    assert {f"marts.{t}" for t in CONTRACT_TABLES} <= tables
    assert {f"load_manifest__{s}" for s in SOURCES} <= {c.name for c in checks}
    staged = {c.table.split(".")[1].split("__")[0].removeprefix("stg_") for c in checks}
    assert set(SOURCES) <= staged
    assert len({c.name for c in checks}) == len(checks)
    for c in checks:
        assert c.name.isidentifier(), c.name
        assert "{source}" not in (c.query or "") + c.table + "".join(c.asset_key)
        assert c.is_input == (c.asset_key[0] in ("raw", "staging")), c


@pytest.mark.parametrize("path", sorted(EXPECTATIONS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_a_suite_holds_no_threshold_as_a_literal(path):
    """Numbers in kwargs are either 0/1 bounds of a rate or a share, or parameters."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for exp in data["expectations"]:
        for name, value in exp["kwargs"].items():
            if name in ("min_value", "max_value", "mostly") and isinstance(value, int | float):
                assert value in (0, 1), (path.name, exp["type"], name, value)
    suite = load_suite(path.stem)  # every parameter named has a value
    assert suite.expectations


def test_parameters_are_substituted_everywhere_also_in_mostly(monkeypatch):
    monkeypatch.setenv("EDUAID_QUALITY_ID_VALID_MIN_SHARE", "0.5")
    suite = load_suite("stg_students__enrollments")
    (valid,) = [e for e in suite.expectations if getattr(e, "column", None) == "is_id_valid"]
    assert valid.mostly == 0.5
    suite = load_suite("stg_students__enrollments", parameters={"row_count_min": 7})
    rows = [e for e in suite.expectations if e.expectation_type == ROW_COUNT]
    assert [e.min_value for e in rows] == [1, 7]  # never empty; within the tolerance


def test_a_missing_parameter_is_named(tmp_path):
    (tmp_path / "t.json").write_text(
        json.dumps(
            {
                "name": "t",
                "expectations": [
                    {
                        "type": ROW_COUNT,
                        "kwargs": {"min_value": {"$PARAMETER": "no_such_threshold"}},
                        "severity": "critical",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="no_such_threshold"):
        load_suite("t", directory=tmp_path)


def test_row_count_bounds_follow_the_tolerance():
    bounds, why = row_count_bounds(None, 0.5, 50)
    assert bounds == {} and "no previous load or publish" in why and "首次运行" in why
    bounds, why = row_count_bounds(49, 0.5, 50)
    assert bounds == {} and "below 50" in why
    assert row_count_bounds(1000, 0.1, 50) == ({"row_count_min": 900, "row_count_max": 1100}, None)
    assert row_count_bounds(50, 0.5, 50) == ({"row_count_min": 25, "row_count_max": 75}, None)
    assert parameters()["row_count_min"] == 0 and parameters()["row_count_max"] is None


DBT_KINDS = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_be_in_set": "accepted_values",
}


def test_no_suite_restates_a_test_dbt_runs_as_an_error():
    """Grain, keys and vocabularies are dbt's: a suite's not-null, unique or in-set
    expectation on a column where dbt already fails the build is a second definition
    (a dbt test of severity warn beside a suite's share threshold is not: dbt names each
    bad row for the auditors, the suite blocks a systemic share)."""
    manifest = json.loads(prepare().read_text(encoding="utf-8"))
    dbt = {
        (n["attached_node"].split(".")[-1], n["column_name"], n["test_metadata"]["name"])
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and n.get("test_metadata")
        and n.get("attached_node")
        and str(n["config"].get("severity", "")).lower() == "error"
    }
    assert ("stg_students__enrollments", "enrollment_row_key", "unique") in dbt
    twice = []
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        model = data["meta"]["table"].split(".")[-1]
        for exp in data["expectations"]:
            kind = DBT_KINDS.get(exp["type"])
            if kind and (model, exp["kwargs"].get("column"), kind) in dbt:
                twice.append(f"{path.name}: {exp['type']} {exp['kwargs']['column']}")
    assert not twice, twice
