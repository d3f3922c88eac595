"""Write `<warehouse>/analytics.duckdb` and `<warehouse>/audit.duckdb` from the build database.

The publish step checks the gate itself (it does not rely on Dagster): without results,
or with any failed critical expectation, it raises `PublishBlocked` and touches nothing.
Each file is built beside its final path under a temporary name, then `os.replace`d
over the old one, so that a reader sees the previous publish or the new one, never a mix.

- analytics.duckdb: every table of the build database's `marts` schema (pseudonymous:
  `person_key`, masked IDs), copied into schema `marts`.
- audit.duckdb (restricted): `main.audit_finding` and `main.audit_finding_payment_line`,
  the tables of the build database's `restricted` schema, which dbt builds
  (`dbt_project/models/restricted/`: the findings re-identified, their payment lines).
  The publisher only copies tables; it joins nothing.

With `EDUAID_PUBLISH_POSTGRES_URL` set, the same two files are also served from PostgreSQL
(`orchestration/publish/postgres.py`): loaded from the new files and swapped in one
transaction there BEFORE the files replace the old ones, so that a failure of Postgres
(server down, a reader holding the old tables past the lock timeout) fails the publish
with both targets still on the previous publish, and a success leaves them equal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.quality.runner import CheckResult, blocking, describe
from orchestration.settings import Settings

ANALYTICS_DB = "analytics.duckdb"
AUDIT_DB = "audit.duckdb"
GateResults = Mapping[str, Sequence[CheckResult]]  # suite name -> its results


class PublishBlocked(RuntimeError):
    """The gate did not pass: nothing was published, the previous publish is untouched."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(
            "publishing blocked by the quality gate:\n" + "\n".join(f"  - {r}" for r in reasons)
        )


class PublishError(RuntimeError):
    """The gate passed but the build database cannot be published; nothing was replaced."""


@dataclass(frozen=True)
class PublishResult:
    analytics: Path
    audit: Path
    tables: dict[str, int]  # analytics table -> rows
    findings: int
    payment_lines: int
    # the Postgres publish, when configured: where (no password), rows per schema.table
    postgres: str | None = None
    postgres_tables: dict[str, int] | None = None


def gate_reasons(gate_results: GateResults | None) -> list[str]:
    """Why the gate does not pass; empty when it does."""
    if not gate_results:
        return ["the quality gate has no results (no suite was run)"]
    reasons = []
    for suite, results in gate_results.items():
        if not results:
            reasons.append(f"suite {suite} returned no results")
        reasons += [f"critical, {suite}: {describe(r)}" for r in blocking(list(results))]
    return reasons


def publish(settings: Settings, gate_results: GateResults | None) -> PublishResult:
    """Publish both databases if the gate passed, else raise `PublishBlocked`."""
    reasons = gate_reasons(gate_results)
    if reasons:
        raise PublishBlocked(reasons)
    warehouse = Path(settings.warehouse)
    warehouse.mkdir(parents=True, exist_ok=True)
    analytics, audit = warehouse / ANALYTICS_DB, warehouse / AUDIT_DB
    # both files are built before either replaces its predecessor: a failure while
    # building leaves the previous publish whole
    built: list[Path] = []
    try:
        tmp_analytics, tables = _build(settings.build_db, analytics, _copy_marts)
        built.append(tmp_analytics)
        tmp_audit, counts = _build(settings.build_db, audit, _copy_audit)
        built.append(tmp_audit)
        postgres, postgres_tables = _publish_postgres(settings, tmp_analytics, tmp_audit)
        os.replace(tmp_analytics, analytics)
        os.replace(tmp_audit, audit)
    finally:
        for tmp in built:
            _remove(tmp)
    return PublishResult(
        analytics=analytics,
        audit=audit,
        tables=tables,
        findings=counts["audit_finding"],
        payment_lines=counts["audit_finding_payment_line"],
        postgres=postgres,
        postgres_tables=postgres_tables,
    )


def _publish_postgres(
    settings: Settings, analytics: Path, audit: Path
) -> tuple[str | None, dict[str, int] | None]:
    """The new files into PostgreSQL, when configured: where (no password), rows per table.

    Raises a `PublishError` when it fails (Postgres keeps its previous publish)."""
    if not settings.publish_postgres_url:
        return None, None
    # imported here: psycopg is needed only with a Postgres target
    from orchestration.publish.postgres import mask_url, publish_postgres

    url = settings.publish_postgres_url
    tables = publish_postgres(
        url,
        analytics,
        audit,
        analyst_role=settings.publish_postgres_analyst_role,
        auditor_role=settings.publish_postgres_auditor_role,
        lock_timeout_seconds=settings.publish_postgres_lock_timeout_seconds,
    )
    return mask_url(url), tables


def _build(build_db: Path, target: Path, fill) -> tuple[Path, dict[str, int]]:
    """Fill a new DuckDB file beside `target`; return its path (fsynced) and row counts."""
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.duckdb")
    _remove(tmp)
    build = _ident(Path(build_db).stem)  # dbt's views name their database by this stem
    try:
        con = duckdb.connect()
        try:
            con.execute(f"attach '{_literal(Path(build_db).resolve())}' as {build} (read_only)")
            con.execute(f"attach '{_literal(tmp.resolve())}' as out")
            counts = fill(con, build)
            con.execute("checkpoint out")
            con.execute("detach out")
        finally:
            con.close()
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp, counts


def _tables(con: duckdb.DuckDBPyConnection, build: str, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where database_name = ? "
            "and schema_name = ? order by table_name",
            [build.strip('"'), schema],
        ).fetchall()
    ]


def _copy(
    con: duckdb.DuckDBPyConnection, build: str, schema: str, names: Sequence[str], target: str
) -> dict[str, int]:
    """Copy `build.<schema>.<name>` to `out.<target>.<name>`; the rows copied per table."""
    counts = {}
    for name in names:
        t = _ident(name)
        con.execute(f"create table out.{target}.{t} as select * from {build}.{schema}.{t}")
        counts[name] = con.execute(f"select count(*) from out.{target}.{t}").fetchone()[0]
    return counts


def _copy_marts(con: duckdb.DuckDBPyConnection, build: str) -> dict[str, int]:
    con.execute("create schema out.marts")
    return _copy(con, build, "marts", _tables(con, build, "marts"), "marts")


RESTRICTED = ("audit_finding", "audit_finding_payment_line")  # dbt models/restricted/


def _copy_audit(con: duckdb.DuckDBPyConnection, build: str) -> dict[str, int]:
    """The restricted tables dbt built (schema `restricted`), copied as they are."""
    have = set(_tables(con, build, "restricted"))
    missing = [f"restricted.{t}" for t in RESTRICTED if t not in have]
    if missing:
        raise PublishError(f"the build database lacks {', '.join(missing)}: nothing published")
    return _copy(con, build, "restricted", RESTRICTED, "main")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
