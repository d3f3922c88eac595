"""Serve the published marts from PostgreSQL too, for a bureau with many analysts and BI tools.

Optional: only when `EDUAID_PUBLISH_POSTGRES_URL` is set. The publisher copies the two new
DuckDB files (the ones about to replace analytics.duckdb and audit.duckdb, so Postgres
serves exactly the same tables) into the database, all in ONE transaction:

1. fresh schemas `marts__new_<stamp>` and `audit__new_<stamp>`, each table created with
   mapped types and filled by `COPY ... FROM STDIN` (CSV written by Arrow, batch by batch);
2. privileges on them: nothing for PUBLIC; the analysts' group role reads `marts`, the
   auditors' group role reads `marts` and `audit` (the roles are created, NOLOGIN, when
   absent; people's login roles are made members by the DBA);
3. the swap: lock every old published table at once, drop the old `marts` and `audit`
   (cascade), rename the new ones.

Postgres DDL is transactional, so another connection sees the whole old publish or the
whole new one, never a mix; any failure rolls everything back and the old schemas stay.
The old tables are locked in short tries (each at most 200 ms and shorter than the
server's deadlock_timeout, all released when it fails): a reader holding one (a query
running, or an open transaction that read it) makes the swap try again; readers arriving
during a try wait for it, at most that long, and are never aborted as deadlocked. The
tries are bounded by `EDUAID_PUBLISH_POSTGRES_LOCK_TIMEOUT_SECONDS` (30 s), after which
the publish fails and the old schemas stay. Once locked, the drop and rename take
milliseconds, and the readers waiting for them then read the new tables.

The schemas `marts` and `audit` belong to the publisher: it drops only schemas whose
comment says it published them. The URL (with its password) comes from the environment
only and is never printed: messages name the server by `mask_url`.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import psycopg
import pyarrow.csv as pa_csv
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from orchestration.publish.publisher import PublishError

MARTS = "marts"  # the analysts' tables (pseudonymous)
AUDIT = "audit"  # restricted: findings with real ID numbers and names
MARK = "eduaid publish"  # the comment on a schema the publisher may drop
BATCH_ROWS = 100_000
CONNECT_TIMEOUT_SECONDS = 30
TRY_LOCK_MS = 200  # the longest a reader waits behind one try of the swap's locks

# DuckDB type (as duckdb_columns() spells it) -> Postgres type; any other is copied as text
PG_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}
DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


class PostgresPublishError(PublishError):
    """The Postgres publish failed: its previous `marts` and `audit` are untouched."""


def pg_type(duckdb_type: str) -> str | None:
    """The Postgres type for a DuckDB column type; None: copy it as text (cast in DuckDB)."""
    if duckdb_type in PG_TYPES:
        return PG_TYPES[duckdb_type]
    decimal = DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal[1]},{decimal[2]})"
    return None


def mask_url(url: str) -> str:
    """Where the URL points, without its password: `user@host:port/dbname`."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "(an unreadable EDUAID_PUBLISH_POSTGRES_URL)"
    return (
        f"{parts.get('user', '')}@{parts.get('host', '') or parts.get('hostaddr', '')}"
        f":{parts.get('port', '5432')}/{parts.get('dbname', '')}"
    )


def scrub(text: str, url: str) -> str:
    """`text` with the URL and its password blanked (libpq quotes bad conninfo values)."""
    secrets = [url]
    with contextlib.suppress(psycopg.Error):
        secrets.append(conninfo_to_dict(url).get("password") or "")
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def publish_postgres(
    url: str,
    analytics: Path,
    audit: Path,
    *,
    analyst_role: str = "eduaid_analyst",
    auditor_role: str = "eduaid_auditor",
    lock_timeout_seconds: float = 30.0,
) -> dict[str, int]:
    """Publish the tables of two DuckDB files as `marts` and `audit`; rows per `schema.table`.

    `analytics`: its schema `marts` becomes `marts`; `audit`: its schema `main` becomes
    `audit`. Raises `PostgresPublishError` (nothing changed in Postgres) on any failure.
    """
    where = mask_url(url)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    sources = {MARTS: (analytics, "marts"), AUDIT: (audit, "main")}
    try:
        with psycopg.connect(
            url, application_name="eduaid publish", connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            _check_server(conn)
            new = {schema: f"{schema}__new_{stamp}" for schema in sources}
            counts: dict[str, int] = {}
            for schema, (path, source_schema) in sources.items():
                conn.execute(sql.SQL("create schema {}").format(sql.Identifier(new[schema])))
                for table, rows in _load(conn, path, source_schema, new[schema]).items():
                    counts[f"{schema}.{table}"] = rows
            _ensure_roles(conn, (analyst_role, auditor_role))
            _grant(conn, new[MARTS], (analyst_role, auditor_role))
            _grant(conn, new[AUDIT], (auditor_role,))
            _swap(conn, new, stamp, lock_timeout_seconds)
            conn.commit()
    except (PostgresPublishError, psycopg.Error, duckdb.Error, OSError) as error:
        why = (
            str(error)
            if isinstance(error, PostgresPublishError)
            else f"{type(error).__name__}: {error}"
        )
        # from None: a conninfo error may quote the URL; the message is scrubbed instead
        raise PostgresPublishError(
            f"publishing to PostgreSQL {where} failed, its previous publish is untouched: "
            f"{scrub(why, url).strip()}"
        ) from None
    return counts


def _check_server(conn: psycopg.Connection) -> None:
    encoding = conn.execute("show server_encoding").fetchone()[0]
    if encoding.upper() not in ("UTF8", "UTF-8"):
        raise PostgresPublishError(
            f"the database is encoded {encoding}, not UTF8: it cannot hold the Chinese text"
        )
    conn.execute("set client_encoding to 'UTF8'")
    # one publish at a time per database (the lock ends with the transaction)
    got = conn.execute("select pg_try_advisory_xact_lock(hashtext(%s))", [MARK]).fetchone()[0]
    if not got:
        raise PostgresPublishError("another publish is writing to this database: try again later")


def _load(conn: psycopg.Connection, path: Path, source_schema: str, target: str) -> dict[str, int]:
    """Create and fill `target.<table>` for every table of `source_schema` in a DuckDB file."""
    counts = {}
    with duckdb.connect(str(path), read_only=True) as duck:
        duck.execute("set enable_progress_bar = false")  # no bar on a terminal's output
        tables = [
            r[0]
            for r in duck.execute(
                "select table_name from duckdb_tables() where database_name = current_database()"
                " and schema_name = ? order by table_name",
                [source_schema],
            ).fetchall()
        ]
        for table in tables:
            columns = duck.execute(
                "select column_name, data_type from duckdb_columns()"
                " where database_name = current_database() and schema_name = ?"
                " and table_name = ? order by column_index",
                [source_schema, table],
            ).fetchall()
            counts[table] = _copy_table(conn, duck, source_schema, table, columns, target)
    return counts


def _copy_table(
    conn: psycopg.Connection,
    duck: duckdb.DuckDBPyConnection,
    source_schema: str,
    table: str,
    columns: list[tuple[str, str]],
    target: str,
) -> int:
    """One table: created with mapped types, filled by COPY (CSV); its rows, checked."""
    name = sql.Identifier(target, table)
    conn.execute(
        sql.SQL("create table {} ({})").format(
            name,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg_type(t) or "text"))
                for c, t in columns
            ),
        )
    )
    # types without a Postgres twin (lists, structs, intervals ...) travel as DuckDB's text
    select = ", ".join(
        _duck_ident(c) if pg_type(t) else f"cast({_duck_ident(c)} as varchar)" for c, t in columns
    )
    reader = duck.execute(
        f"select {select} from {_duck_ident(source_schema)}.{_duck_ident(table)}"
    ).fetch_record_batch(BATCH_ROWS)
    # Arrow's CSV quotes every string and leaves nulls bare: Postgres reads "" as an empty
    # string and nothing as null
    options = pa_csv.WriteOptions(include_header=False)
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv)").format(
        name, sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns)
    )
    with conn.cursor() as cur:
        with cur.copy(copy_sql) as copy:
            for batch in reader:
                buffer = io.BytesIO()
                pa_csv.write_csv(batch, buffer, options)
                copy.write(buffer.getbuffer())
        copied = cur.rowcount
    expected = duck.execute(
        f"select count(*) from {_duck_ident(source_schema)}.{_duck_ident(table)}"
    ).fetchone()[0]
    if copied != expected:
        raise PostgresPublishError(f"{table}: copied {copied} rows of {expected}")
    return copied


def _ensure_roles(conn: psycopg.Connection, roles: Iterable[str]) -> None:
    for role in roles:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if exists:
            continue
        try:
            with conn.transaction():  # a savepoint, so that the message below can be ours
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        except psycopg.errors.InsufficientPrivilege:
            raise PostgresPublishError(
                f"role {role} does not exist and the publishing user may not create roles: "
                f"a DBA can run CREATE ROLE {role} NOLOGIN"
            ) from None


def _grant(conn: psycopg.Connection, schema: str, readers: Iterable[str]) -> None:
    """Only `readers` may read `schema` (ALTER DEFAULT PRIVILEGES may have granted PUBLIC)."""
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("revoke all on schema {} from public").format(s))
    conn.execute(sql.SQL("revoke all on all tables in schema {} from public").format(s))
    for role in readers:
        r = sql.Identifier(role)
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, r))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, r))


def _swap(
    conn: psycopg.Connection, new: Mapping[str, str], stamp: str, lock_timeout_seconds: float
) -> None:
    """Drop the old published schemas and rename the new ones (in the caller's transaction)."""
    deadline = time.monotonic() + lock_timeout_seconds
    for final in new:
        owner = conn.execute(
            "select coalesce(obj_description(oid, 'pg_namespace'), '') from pg_namespace"
            " where nspname = %s",
            [final],
        ).fetchone()
        if owner is not None and not owner[0].startswith(MARK):
            raise PostgresPublishError(
                f"schema {final} exists and was not published by eduaid: it is left alone "
                "and nothing is published (drop or rename it, or publish to another database)"
            )
    _lock_old_tables(conn, list(new), deadline, lock_timeout_seconds)
    # objects of others that depend on the old tables (analysts' views) go with them: bounded too
    remaining_ms = max(TRY_LOCK_MS, round((deadline - time.monotonic()) * 1000))
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{remaining_ms}ms")))
    for final, fresh in new.items():
        try:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(final)))
        except psycopg.errors.LockNotAvailable:
            raise _lock_timeout(final, lock_timeout_seconds) from None
        conn.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(fresh), sql.Identifier(final)
            )
        )
        conn.execute(
            sql.SQL("comment on schema {} is {}").format(
                sql.Identifier(final), sql.Literal(f"{MARK} {stamp} UTC")
            )
        )


def _lock_old_tables(
    conn: psycopg.Connection, schemas: list[str], deadline: float, lock_timeout_seconds: float
) -> None:
    """Take every old published table, in tries shorter than the server's deadlock_timeout.

    A try waits in the lock queue (so that a stream of short queries cannot starve it, and
    queries arriving meanwhile wait behind it), but gives up and releases what it took
    before the server would look for a deadlock: a reader whose query or transaction locks
    two tables one after the other is then never the one aborted, it waits one try at most.
    """
    tables = [
        sql.Identifier(schema, table)
        for schema, table in conn.execute(
            "select n.nspname, c.relname from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'p') order by 1, 2",
            [schemas],
        ).fetchall()
    ]
    if not tables:
        return
    deadlock_ms = conn.execute(
        "select setting::int from pg_settings where name = 'deadlock_timeout'"
    ).fetchone()[0]
    try_ms = min(TRY_LOCK_MS, max(10, deadlock_ms // 2))
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{try_ms}ms")))
    statement = sql.SQL("lock table {} in access exclusive mode").format(sql.SQL(", ").join(tables))
    while True:
        try:
            with conn.transaction():  # a savepoint: a failed try releases what it took
                conn.execute(statement)
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() > deadline:
                raise _lock_timeout(", ".join(schemas), lock_timeout_seconds) from None
            time.sleep(0.02)  # the queries that queued behind the try go first


def _lock_timeout(schemas: str, lock_timeout_seconds: float) -> PostgresPublishError:
    return PostgresPublishError(
        f"schema {schemas}: readers held the published tables longer than the lock timeout "
        f"({lock_timeout_seconds:g} s, EDUAID_PUBLISH_POSTGRES_LOCK_TIMEOUT_SECONDS)"
    )


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main() -> int:
    """`make publish-postgres`: serve the files published last from Postgres, no pipeline run.

    For a Postgres target set up after the last publish (the next run publishes to it
    anyway). Holds the build lock, so that no publish replaces the files meanwhile.
    """
    import sys

    from orchestration.lock import build_lock
    from orchestration.publish.publisher import ANALYTICS_DB, AUDIT_DB
    from orchestration.settings import get_settings

    settings = get_settings()
    url = settings.publish_postgres_url
    if not url:
        print("EDUAID_PUBLISH_POSTGRES_URL is not set: nothing to publish to", file=sys.stderr)
        return 2
    files = [settings.warehouse / ANALYTICS_DB, settings.warehouse / AUDIT_DB]
    with build_lock(settings, None, "make publish-postgres"):
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            print(
                f"nothing published yet ({', '.join(missing)}): run the pipeline", file=sys.stderr
            )
            return 2
        try:
            counts = publish_postgres(
                url,
                *files,
                analyst_role=settings.publish_postgres_analyst_role,
                auditor_role=settings.publish_postgres_auditor_role,
                lock_timeout_seconds=settings.publish_postgres_lock_timeout_seconds,
            )
        except PostgresPublishError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"published to PostgreSQL {mask_url(url)}:")
    for table, rows in counts.items():
        print(f"  {table:<45}{rows:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
