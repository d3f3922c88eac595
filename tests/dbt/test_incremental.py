"""Incremental equals full: staging parses only the file versions that are new, and the
marts come out exactly as a full build of the same landing folder gives them.

The demo county is delivered in two steps. First without its newest files (the newest
payment batches, each source's newest snapshot month, and the corrected re-delivery of a
month already delivered), built with `dbt build`; then those files arrive, are loaded,
and `dbt build` runs again on the same database: its staging models are incremental, so
the second build stages only what is new and replaces the corrected month. Every table of
`staging`, `marts` and `restricted` must equal, row for row, the session's full build of
the whole landing folder (`built_seed7`), all but the load's clock (`loaded_at`).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from dbt_helpers import build_db, failures, run_dbt, snapshot_db

from orchestration.ingest.loader import load_landing
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


def test_a_new_batch_built_incrementally_equals_the_full_build(built_seed7, tmp_path):
    landing_all = built_seed7.root / "landing"
    held = withheld_files(landing_all)
    names = {p.name for p in held}
    assert any("更正" in n for n in names), names  # the corrected month is among them
    assert {p.parent.name for p in held} == {p.name for p in landing_all.iterdir()}
    landing = tmp_path / "landing"
    _copy(
        [p for p in landing_all.rglob("*") if p.is_file() and p not in held], landing_all, landing
    )
    database = tmp_path / "build.duckdb"
    with build_db(database):
        assert not load_landing(landing, database).by_status("rejected")
        assert not failures(run_dbt(["build"], tmp_path), allow_warn=True)
        before = snapshot_db(database, tmp_path / "before.duckdb")
        _copy(held, landing_all, landing)
        loaded = load_landing(landing, database)
        new = {f.file_name for f in loaded.by_status("loaded")}  # a held-back copy of
        assert new and new <= names and not loaded.by_status("rejected")  # a file: not new
        assert not failures(run_dbt(["build"], tmp_path), allow_warn=True)
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
