"""The gate in Dagster on a built county (seed 7): asset checks, then the publish step.

A clean run publishes both databases and writes the reports (Data Docs, the results over
time, the workbook, the run summary), and these agree with the results and the findings;
a planted bad row makes the run block, names the expectation, and leaves the previous
publish byte for byte; a mart that breaks its grain fails dbt's test, and so the dbt step,
and nothing is published; the publish step run on its own refuses to publish without results.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize
from dbt_helpers import snapshot_db
from openpyxl import load_workbook

from eduaid_synth.ids import is_valid
from orchestration.dbt.assets import dbt_resource, eduaid_dbt
from orchestration.ingest.assets import raw_assets
from orchestration.publish import PublishBlocked
from orchestration.publish.assets import PUBLISHED_KEY, published_warehouse
from orchestration.publish.step import WORKBOOK, publish_run
from orchestration.quality.checks import quality_checks
from orchestration.quality.gate import MISSING
from orchestration.quality.history import BLOCKED, PUBLISHED, RESULTS_CSV, History
from orchestration.quality.suites import discover
from orchestration.run import conclude
from orchestration.settings import get_settings

CHECK_NAMES = {c.name for c in discover()}


def run_pipeline_tail(monkeypatch, warehouse: Path, database: Path, *, checks: bool = True):
    """The checks and the publish step of one Dagster run on an already built database."""
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("EDUAID_BUILD_DB", str(database))
    selection = AssetSelection.assets(PUBLISHED_KEY)
    if checks:
        selection = selection | AssetSelection.checks(*quality_checks)
    result = materialize(
        [*raw_assets, eduaid_dbt, *quality_checks, published_warehouse],
        selection=selection,
        resources={"dbt": dbt_resource},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return result, get_settings()


def gx_statistics(reports: Path, run_id: str) -> dict[str, tuple[int, int]]:
    """check -> (evaluated, successful) as GX stored them for the run's Data Docs."""
    stats = {}
    for path in (reports / "gx_results" / run_id / "validation_results_store").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        s = data["statistics"]
        stats[data["suite_name"]] = (s["evaluated_expectations"], s["successful_expectations"])
    return stats


def our_statistics(reports: Path, run_id: str) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(reports / "validation_results.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select check_name, count(*), count(*) filter (where success) "
            "from validation_result where run_id = ? group by 1",
            [run_id],
        ).fetchall()
    return {name: (n, ok) for name, n, ok in rows}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def clean_run(built_seed7, tmp_path_factory):
    root = tmp_path_factory.mktemp("publish_run")
    database = snapshot_db(built_seed7.database, root / "build" / "build.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        result, settings = run_pipeline_tail(patch, root / "warehouse", database)
        status = conclude(settings, result.run_id, result.success)
    return result, settings, status


def planted_copy(build_db: Path, tmp_path: Path, sql: str) -> Path:
    """A copy of the build database with one bad row planted by `sql`."""
    database = tmp_path / "build.duckdb"
    shutil.copyfile(build_db, database)
    with duckdb.connect(str(database)) as con:
        con.execute(sql)
    return database


def test_a_clean_run_publishes(clean_run):
    result, settings, status = clean_run
    assert result.success and status == 0
    history = History(settings.warehouse / "reports")
    assert history.outcome(result.run_id) == (PUBLISHED, [])
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} >= CHECK_NAMES
    assert all(e.passed for e in evaluations if e.check_name in CHECK_NAMES)
    for name in ("analytics.duckdb", "audit.duckdb"):
        assert (settings.warehouse / name).exists()


def test_the_results_table_and_data_docs_match_the_checks(clean_run):
    result, settings, _ = clean_run
    reports = settings.warehouse / "reports"
    with duckdb.connect(str(reports / "validation_results.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select check_name, count(*), bool_and(success), count(observed_value) "
            "+ count(unexpected_count) from validation_result where run_id = ? group by 1",
            [result.run_id],
        ).fetchall()
    assert {r[0] for r in rows} == CHECK_NAMES
    assert all(r[2] and r[3] == r[1] for r in rows), rows  # passed, each with an observation
    with (reports / RESULTS_CSV).open(encoding="utf-8-sig") as f:
        csv_rows = [r for r in csv.DictReader(f) if r["run_id"] == result.run_id]
    assert len(csv_rows) == sum(r[1] for r in rows)

    site = reports / "data_docs" / result.run_id
    index = (site / "index.html").read_text(encoding="utf-8")
    pages = list((site / "validations").rglob("*.html"))
    assert {p.relative_to(site / "validations").parts[0] for p in pages} == CHECK_NAMES
    for name in CHECK_NAMES:
        assert f"validations/{name}/" in index, name
    assert result.run_id in (reports / "index.html").read_text(encoding="utf-8")
    assert gx_statistics(reports, result.run_id) == our_statistics(reports, result.run_id)


def test_the_workbook_matches_the_published_findings(clean_run):
    _, settings, _ = clean_run
    with duckdb.connect(str(settings.warehouse / "audit.duckdb"), read_only=True) as con:
        by_name = dict(
            con.execute("select finding_name_cn, count(*) from audit_finding group by 1").fetchall()
        )
        total = con.execute("select count(*) from audit_finding").fetchone()[0]
    workbook = load_workbook(settings.warehouse / "reports" / WORKBOOK, read_only=True)
    sheets = workbook.sheetnames
    assert sheets[0] == "汇总"
    for name, count in by_name.items():
        rows = list(workbook[name].iter_rows(values_only=True))
        assert len(rows) - 1 == count, name  # a header, then one row per finding
    assert sum(by_name.values()) == total


def test_the_run_summary_is_in_chinese_and_says_published(clean_run):
    result, settings, _ = clean_run
    text = (settings.warehouse / "reports" / "run_summary.md").read_text(encoding="utf-8")
    assert result.run_id in text
    assert "已发布" in text and "资助覆盖率" in text and "辍学率" in text
    assert f"已运行 {len(CHECK_NAMES)} 项检查" in text


def test_a_planted_bad_row_blocks_and_the_previous_publish_stays(clean_run, tmp_path):
    _, settings, _ = clean_run
    before = {name: sha(settings.warehouse / name) for name in ("analytics.duckdb", "audit.duckdb")}
    database = planted_copy(
        settings.build_db,
        tmp_path,
        "update marts.rpt_dropout_rates set dropout_rate = 1.5 "
        "where rowid = (select min(rowid) from marts.rpt_dropout_rates)",
    )
    with pytest.MonkeyPatch.context() as patch:
        result, blocked_settings = run_pipeline_tail(patch, settings.warehouse, database)
        status = conclude(blocked_settings, result.run_id, result.success)

    assert not result.success and status == 2
    (failed,) = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.check_name == "rpt_dropout_rates"
    assert "dropout_rate" in failed.description and "unexpected 1" in failed.description
    outcome, reasons = History(settings.warehouse / "reports").outcome(result.run_id)
    assert outcome == BLOCKED
    assert any("rpt_dropout_rates" in r and "dropout_rate" in r for r in reasons)
    after = {name: sha(settings.warehouse / name) for name in before}
    assert after == before
    reports = settings.warehouse / "reports"
    ours = our_statistics(reports, result.run_id)
    assert gx_statistics(reports, result.run_id) == ours
    assert {name for name, (n, ok) in ours.items() if ok < n} == {"rpt_dropout_rates"}
    summary = (settings.warehouse / "reports" / "run_summary.md").read_text(encoding="utf-8")
    assert "未发布" in summary and "rpt_dropout_rates" in summary


def test_a_mart_that_breaks_its_grain_fails_dbt_and_nothing_is_published(clean_run, tmp_path):
    """Grain and keys are dbt's tests, not the suites': a person twice in dim_student (as a
    join gone wrong would give it) fails dbt's unique test, so `dbt build` and the dbt step
    fail, the publish step never runs and the previous publish stays byte for byte; the run
    counts as blocked and names the test."""
    _, settings, _ = clean_run
    before = {name: sha(settings.warehouse / name) for name in ("analytics.duckdb", "audit.duckdb")}
    database = planted_copy(
        settings.build_db,
        tmp_path,
        "insert into intermediate.int_persons_unified select * from "
        "intermediate.int_persons_unified where rowid = (select min(rowid) "
        "from intermediate.int_persons_unified)",
    )
    dim_student = AssetKey(["marts", "dim_student"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUAID_WAREHOUSE", str(settings.warehouse))
        patch.setenv("EDUAID_BUILD_DB", str(database))
        result = materialize(
            [*raw_assets, eduaid_dbt, *quality_checks, published_warehouse],
            selection=AssetSelection.assets(dim_student, PUBLISHED_KEY)
            | AssetSelection.checks_for_assets(dim_student),
            resources={"dbt": dbt_resource},
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        status = conclude(get_settings(), result.run_id, result.success)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "eduaid_dbt"
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key, e.check_name) for e in failed] == [
        (dim_student, "unique_dim_student_person_key")
    ]
    assert PUBLISHED_KEY not in {e.asset_key for e in result.get_asset_materialization_events()}
    # a failed dbt test is a data problem: the run is blocked, and says by which test
    assert status == 2
    outcome, reasons = History(settings.warehouse / "reports").outcome(result.run_id)
    assert outcome == "blocked"
    assert [r for r in reasons if "dbt test" in r] == [
        "critical, dbt_tests: dbt test unique_dim_student_person_key, unexpected 1"
    ]
    summary = (settings.warehouse / "reports" / "run_summary.md").read_text(encoding="utf-8")
    assert "unique_dim_student_person_key" in summary
    assert {name: sha(settings.warehouse / name) for name in before} == before


def test_the_publish_step_alone_refuses_without_this_runs_results(clean_run):
    """Dagster runs the publish step without any check: the step blocks by itself."""
    _, settings, _ = clean_run
    before = sha(settings.warehouse / "analytics.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        result, _ = run_pipeline_tail(patch, settings.warehouse, settings.build_db, checks=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert MISSING in str(failure.event_specific_data.error)
    assert sha(settings.warehouse / "analytics.duckdb") == before
    with pytest.raises(PublishBlocked, match=MISSING):
        publish_run(settings, "a run that never checked")


def test_a_bad_file_in_the_landing_folder_blocks_the_next_run(clean_run, built_seed7, tmp_path):
    """The issue's promise: a bad file dropped into the landing folder makes the next run
    block with a clear reason (the file and why), while analysts keep the last good data."""
    _, settings, _ = clean_run
    before = sha(settings.warehouse / "analytics.duckdb")
    landing = tmp_path / "landing"
    shutil.copytree(built_seed7.root / "landing", landing)
    (landing / "disbursements" / "补报名单.csv").write_text(
        "序号,备注\n1,这不是发放名单\n", encoding="utf-8"
    )
    database = tmp_path / "build.duckdb"
    shutil.copyfile(settings.build_db, database)
    manifest_checks = [
        c for c in quality_checks if any(k.name.startswith("load_manifest") for k in c.check_keys)
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDUAID_LANDING", str(landing))
        patch.setenv("EDUAID_WAREHOUSE", str(settings.warehouse))
        patch.setenv("EDUAID_BUILD_DB", str(database))
        result = materialize(
            [*raw_assets, eduaid_dbt, *quality_checks, published_warehouse],
            selection=AssetSelection.groups("raw") | AssetSelection.checks(*manifest_checks),
            resources={"dbt": dbt_resource},
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        status = conclude(get_settings(), result.run_id, result.success)

    assert not result.success and status == 2
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["load_manifest__disbursements"]
    assert "补报名单.csv" in failed[0].description
    assert sha(settings.warehouse / "analytics.duckdb") == before
    summary = (settings.warehouse / "reports" / "run_summary.md").read_text(encoding="utf-8")
    assert "未发布" in summary and "补报名单.csv" in summary


ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def test_no_real_id_or_name_in_the_published_analytics(clean_run, built_seed7):
    """Every text column of every table: no 18-character ID with a valid checksum standing
    alone, no value that is a generated person's name, no name in a sentence of evidence."""
    _, settings, _ = clean_run
    persons = built_seed7.root / "truth" / "persons" / "*.parquet"
    with duckdb.connect(str(settings.warehouse / "analytics.duckdb"), read_only=True) as con:
        con.execute(
            "create temp table names as select distinct name from read_parquet(?) "
            "where length(name) >= 3",  # a 2-character name can be a word: 高一 is a grade
            [str(persons)],
        )
        (n_names,) = con.execute("select count(*) from names").fetchone()
        assert n_names > 5_000
        columns = con.execute("""
            select schema_name, table_name, column_name from duckdb_columns()
            where data_type in ('VARCHAR', 'VARCHAR[]') and not internal
                and database_name = current_database() and schema_name = 'marts'
        """).fetchall()
        assert len(columns) > 50
        for schema, table, column in columns:
            where = f"{table}.{column}"
            relation, text = f'"{schema}"."{table}"', f'cast("{column}" as varchar)'
            for (value,) in con.execute(
                f"select distinct {text} from {relation} "
                f"where regexp_matches({text}, '[0-9]{{17}}[0-9Xx]')"
            ).fetchall():
                for candidate in ID_LIKE.findall(value):
                    assert not is_valid(candidate.upper()), f"real ID {candidate} in {where}"
            (named,) = con.execute(
                f"select count(*) from {relation} where {text} in (select name from names)"
            ).fetchone()
            assert named == 0, f"{named} names in {where}"
        (in_evidence,) = con.execute("""
            select count(*) from marts.fct_audit_finding as finding
            join names on length(names.name) >= 3 and contains(finding.evidence, names.name)
        """).fetchone()
        assert in_evidence == 0
