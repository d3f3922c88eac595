"""Incremental equals full: a new batch rebuilds only what reads the sources that changed,
staging parses only the file versions that are new, and the marts come out exactly as a
full build of the same landing folder gives them.

The demo county is delivered in three steps, each run through Dagster as the pipeline
runs it (the ingest's raw assets, then the dbt step, which plans its build from the build
state beside the database): first without its newest files (the newest payment batches,
each source's newest snapshot month, and the corrected re-delivery of a month already
delivered); then every source's newest files but the payments'; then the newest payment
batch alone, which must leave the student, household and population models as the
second run built them. Every table of `staging`, `marts` and `restricted` must then
equal, row for row, the session's full build of the whole landing folder
(`built_seed7`), all but the load's clock (`loaded_at`).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize
from dbt_helpers import snapshot_db

from orchestration.dbt.assets import dbt_resource, eduaid_dbt
from orchestration.dbt.build_state import BuildState
from orchestration.ingest.assets import raw_assets
from orchestration.ingest.reading import SNAPSHOT_SOURCES, snapshot_month

pytestmark = pytest.mark.slow


def withheld_files(landing: Path) -> list[Path]:
    """The newest delivery of every source, and every later delivery of a month."""
    held: set[Path] = set()
    for folder in landing.iterdir():
        files = sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name))
        newest = files[-1].stat().st_mtime
        held |= {p for p in files if p.stat().st_mtime == newest}
        if folder.name in SNAPSHOT_SOURCES:
            months: dict[object, list[Path]] = defaultdict(list)
            for path in files:
                months[snapshot_month(path.name)].append(path)
            held |= {p for same in months.values() for p in same[1:]}
    return sorted(held)


def _copy(paths: list[Path], source_root: Path, target_root: Path) -> None:
    for path in paths:
        target = target_root / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)  # the same delivery time (file mtime) as the original


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where database_name = ? and schema_name in ('staging', 'marts', 'restricted') "
        "and column_name not like '%loaded_at' order by schema_name, table_name, column_index",
        [catalog],
    ).fetchall()
    tables: dict[str, list[str]] = defaultdict(list)
    for schema, table, column in rows:
        if con.execute(
            "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
            "and table_name = ?",
            [catalog, schema, table],
        ).fetchone()[0]:
            tables[f"{schema}.{table}"].append(f'"{column}"')
    return tables


def _materialize(run_ids: list[str]) -> str:
    """The ingest and every dbt node through Dagster, as the pipeline runs them (dbt
    decides what to rebuild from the build state); the dbt step's build mode."""
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [*raw_assets, eduaid_dbt], resources={"dbt": dbt_resource}, instance=instance
    )
    assert result.success
    run_ids.append(result.run_id)
    (mode,) = [
        e.user_message for e in instance.all_logs(result.run_id) if "dbt build, " in e.user_message
    ]
    return mode


def test_new_batches_built_incrementally_equal_the_full_build(built_seed7, tmp_path, monkeypatch):
    landing_all = built_seed7.root / "landing"
    held = withheld_files(landing_all)
    names = {p.name for p in held}
    assert any("更正" in n for n in names), names  # the corrected month is among them
    assert {p.parent.name for p in held} == {p.name for p in landing_all.iterdir()}
    payments = [p for p in held if p.parent.name == "disbursements"]
    landing = tmp_path / "landing"
    _copy(
        [p for p in landing_all.rglob("*") if p.is_file() and p not in held], landing_all, landing
    )
    database = tmp_path / "warehouse" / "build.duckdb"
    monkeypatch.setenv("EDUAID_LANDING", str(landing))
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDUAID_BUILD_DB", str(database))
    runs: list[str] = []
    assert "full refresh" in _materialize(runs)
    # every source's newest delivery but the payments', and a corrected month
    _copy([p for p in held if p not in payments], landing_all, landing)
    assert "incremental" in _materialize(runs)
    before = snapshot_db(database, tmp_path / "before.duckdb")
    _copy(payments, landing_all, landing)  # then only the newest payment batch
    assert "incremental: only what reads disbursements " in _materialize(runs)
    state = BuildState.read(database)
    # the new batch left the student, household and population models as they were
    for model in ("stg_students__enrollments", "stg_households__members", "fct_enrollment"):
        assert state.run_of(f"model.eduaid.{model}") == runs[1], model
    for model in ("stg_disbursements__payment_lines", "fct_disbursement", "fct_audit_finding"):
        assert state.run_of(f"model.eduaid.{model}") == runs[2], model
    mine = snapshot_db(database, tmp_path / "incremental.duckdb")
    full = snapshot_db(built_seed7.database, tmp_path / "full.duckdb")

    with duckdb.connect() as con:
        con.execute(f"attach '{mine}' as mine (read_only)")
        con.execute(f"attach '{full}' as full_build (read_only)")
        con.execute(f"attach '{before}' as before (read_only)")
        tables = _tables(con, "full_build")
        assert set(_tables(con, "mine")) == set(tables)
        assert "marts.fct_disbursement" in tables and "staging.stg_students__enrollments" in tables
        differences = {}
        for table, columns in tables.items():
            cols = ", ".join(columns)
            a = f"select {cols} from mine.{table}"
            b = f"select {cols} from full_build.{table}"
            extra = con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
            missing = con.execute(f"select count(*) from ({b} except all {a})").fetchone()[0]
            if extra or missing:
                differences[table] = (extra, missing)
        assert not differences, differences
        # and the second build did have something to add: the withheld batches
        grew = con.execute(
            "select (select count(*) from mine.staging.stg_disbursements__payment_lines) - "
            "(select count(*) from before.staging.stg_disbursements__payment_lines)"
        ).fetchone()[0]
        assert grew > 0
