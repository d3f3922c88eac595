"""The PostgreSQL publish target, against a real server that this module starts and stops.

Debian's PostgreSQL binaries (`make postgres` installs them when absent); one server per
module on a free localhost port, its data and socket in a temporary folder, run as the
`postgres` system user when the tests run as root (postgres refuses root), stopped by its
own pid. Each test gets a fresh database owned by a publishing user that is NOT a
superuser (CREATEROLE, and owner of its database), as a bureau's would be.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import duckdb
import psycopg
import pytest
from psycopg import errors

from orchestration.publish import PublishBlocked, PublishError, publish
from orchestration.publish import postgres as pg_publish
from orchestration.publish.postgres import PostgresPublishError, mask_url, pg_type, scrub
from orchestration.publish.step import WORKBOOK, publish_run
from orchestration.quality import CheckResult
from orchestration.quality.history import BLOCKED, History
from orchestration.quality.suites import discover
from orchestration.settings import REPO_ROOT, get_settings

from .test_publish import ID_CHILD, ID_DEAD, NAMES, make_build_db, passed

ADMIN = "eduaid_test_admin"
PUBLISHER, PUBLISHER_PASSWORD = "eduaid_publisher", "pub's s3cret:@/"
ANALYST_LOGIN, AUDITOR_LOGIN, STRANGER_LOGIN = "ana_li", "aud_wang", "stranger"
LOGIN_PASSWORD = "reader-pw"
START_SECONDS = 60
STOP_SECONDS = 30
GATE = {"fct_disbursement": [passed()]}


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One postgres process; `stop()` ends it by its pid (SIGINT, then SIGKILL)."""

    def __init__(self, root: Path, bin_dir: Path):
        self.root, self.bin_dir = root, bin_dir
        self.data, self.sockets, self.log = root / "data", root / "sock", root / "server.log"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        # postgres refuses to run as root: then as the postgres user Debian's package creates
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` user to run the server")

    def _as_user(self) -> dict:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def start(self) -> None:
        self.sockets.mkdir()
        if self.user is not None:
            for p in (self.root, self.sockets):
                os.chown(p, self.user.pw_uid, self.user.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text("admin-pw\n")
        if self.user is not None:
            os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
        subprocess.run(
            [
                self.bin_dir / "initdb",
                "-D",
                self.data,
                "-U",
                ADMIN,
                f"--pwfile={pwfile}",
                "--encoding=UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=self.root,
            **self._as_user(),
        )
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    self.bin_dir / "postgres",
                    "-D",
                    self.data,
                    "-p",
                    str(self.port),
                    "-k",
                    self.sockets,
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "deadlock_timeout=100ms",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                **self._as_user(),
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log.read_text()}")
            try:
                with self.admin(connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"postgres did not accept connections in {START_SECONDS} s:\n"
                        f"{self.log.read_text()}"
                    ) from None
                time.sleep(0.2)

    def admin(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        """The superuser, over the unix socket (trust)."""
        return psycopg.connect(
            host=str(self.sockets),
            port=self.port,
            user=ADMIN,
            dbname=dbname,
            autocommit=True,
            **kwargs,
        )

    def url(self, user: str, password: str, dbname: str) -> str:
        """A TCP URL with a password, as an operator would set it."""
        secret = f"{quote(user, safe='')}:{quote(password, safe='')}"
        return f"postgresql://{secret}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: rolls back, disconnects
        try:
            self.proc.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="module")
def server():
    bin_dir = _bin_dir()
    if bin_dir is None:
        subprocess.run(["make", "-s", "postgres"], cwd=REPO_ROOT, timeout=900, check=False)
        bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries and `make postgres` could not install them")
    # not under pytest's tmp dir (private to root) nor TMPDIR: as root, the server runs as
    # the postgres user, who must reach its folder
    root = Path(tempfile.mkdtemp(prefix="eduaid-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    srv = Server(root, bin_dir)
    try:
        srv.start()
        with srv.admin() as con:
            con.execute(
                f"create role {PUBLISHER} login createrole password {_literal(PUBLISHER_PASSWORD)}"
            )
            for login in (ANALYST_LOGIN, AUDITOR_LOGIN, STRANGER_LOGIN):
                con.execute(f"create role {login} login password {_literal(LOGIN_PASSWORD)}")
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_databases = iter(range(1, 10_000))


@pytest.fixture
def database(server):
    """A fresh database owned by the publisher (the group roles and their members are the
    server's: they outlive it)."""
    name = f"bureau_{next(_databases)}"
    with server.admin() as con:
        con.execute(f"create database {name} owner {PUBLISHER}")
        # a hostile default: everything the publisher creates readable by everyone, so that
        # only the publisher's own revokes keep the audit schema closed
        with server.admin(dbname=name) as db:
            db.execute(
                f"alter default privileges for role {PUBLISHER} grant select on tables to public"
            )
            db.execute(
                f"alter default privileges for role {PUBLISHER} grant usage on schemas to public"
            )
    return name


@pytest.fixture
def settings(tmp_path, server, database):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    build = make_build_db(warehouse / "build.duckdb")
    add_type_zoo(build)
    return get_settings(
        {
            "EDUAID_WAREHOUSE": str(warehouse),
            "EDUAID_LANDING": str(tmp_path),
            "EDUAID_PUBLISH_POSTGRES_URL": server.url(PUBLISHER, PUBLISHER_PASSWORD, database),
            "EDUAID_PUBLISH_POSTGRES_LOCK_TIMEOUT_SECONDS": "2",
        }
    )


ZOO = [
    # more types than the marts use, and text that CSV could get wrong
    (
        1,
        2**40,
        0.1,
        Decimal("-1234567890.12"),
        date(2021, 10, 8),
        datetime(2021, 10, 8, 12, 34, 56, 123456),
        True,
        "",
        ["a", "b"],
        '逗号,引号"换行\n反斜杠\\N',
    ),
    (2, None, None, None, None, None, None, None, None, None),
    (
        3,
        -(2**40),
        1e300,
        Decimal("0.05"),
        date(1999, 12, 31),
        datetime(1999, 12, 31, 23, 59, 59),
        False,
        "\\.",
        [],
        "多\n\n行",
    ),
]


def add_type_zoo(build: Path) -> None:
    with duckdb.connect(str(build)) as con:
        con.execute("""
            create table marts.rpt_type_zoo (
                n smallint, big bigint, ratio double, amount_yuan decimal(12, 2),
                paid_on date, loaded_at timestamp, is_ok boolean, note varchar,
                tags varchar[], long_text varchar)
        """)
        con.executemany("insert into marts.rpt_type_zoo values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ZOO)


def pg_rows(url_or_conn, query, params=()):
    if isinstance(url_or_conn, str):
        with psycopg.connect(url_or_conn) as con:
            return con.execute(query, params).fetchall()
    return url_or_conn.execute(query, params).fetchall()


def duck_tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of a DuckDB file, `schema.table` -> its rows sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
            for s, t in names
        }


def pg_tables(con: psycopg.Connection, schema: str) -> dict[str, list[tuple]]:
    names = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            [schema],
        ).fetchall()
    ]
    return {
        t: sorted(con.execute(f'select * from "{schema}"."{t}"').fetchall(), key=repr)
        for t in names
    }


def reader(server, login, database) -> psycopg.Connection:
    return psycopg.connect(server.url(login, LOGIN_PASSWORD, database), autocommit=True)


def grant_people(server, database, analyst="eduaid_analyst", auditor="eduaid_auditor"):
    """What the DBA does once the roles exist: people's login roles become members."""
    with server.admin(dbname=database) as con:
        con.execute(f"grant {analyst} to {ANALYST_LOGIN}")
        con.execute(f"grant {auditor} to {AUDITOR_LOGIN}")


def counts(con: psycopg.Connection) -> dict[str, int]:
    return {
        f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('marts', 'audit') order by 1, 2"
        ).fetchall()
    }


def published_state(server, database) -> tuple:
    """Everything a reader could see of the publish: schemas, their comments, all rows."""
    with server.admin(dbname=database) as con:
        schemas = con.execute(
            "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace"
            " where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public')"
            " order by 1"
        ).fetchall()
        return schemas, pg_tables(con, "marts"), pg_tables(con, "audit")


def test_the_same_marts_are_served_from_postgres(server, database, settings):
    result = publish(settings, GATE)

    assert result.postgres == f"{PUBLISHER}@127.0.0.1:{server.port}/{database}"
    assert result.postgres_tables == {
        "marts.dim_student": 2,
        "marts.fct_audit_finding": 2,
        "marts.fct_disbursement": 3,
        "marts.rpt_type_zoo": 3,
        "audit.audit_finding": 2,
        "audit.audit_finding_payment_line": 2,
    }
    analytics = duck_tables(result.analytics)
    audit = duck_tables(result.audit)
    with server.admin(dbname=database) as con:
        marts, restricted = pg_tables(con, "marts"), pg_tables(con, "audit")
        types = dict(
            con.execute(
                "select c.relname || '.' || a.attname, format_type(a.atttypid, a.atttypmod)"
                " from pg_attribute a join pg_class c on c.oid = a.attrelid"
                " join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname in ('marts', 'audit') and a.attnum > 0"
            ).fetchall()
        )
    assert {f"marts.{t}" for t in marts} == {t for t in analytics if t.startswith("marts.")}
    assert {f"main.{t}" for t in restricted} == set(audit)
    assert {t: len(r) for t, r in marts.items()} == {
        t.split(".")[1]: len(r) for t, r in analytics.items()
    }

    # typed as in DuckDB, not all text
    assert types["fct_disbursement.amount_yuan"] == "numeric(12,2)"
    assert types["fct_disbursement.paid_on"] == "date"
    assert types["fct_disbursement.source_row"] == "integer"
    assert types["dim_student.is_id_valid"] == "boolean"
    assert types["rpt_type_zoo.big"] == "bigint"
    assert types["rpt_type_zoo.ratio"] == "double precision"
    assert types["rpt_type_zoo.loaded_at"] == "timestamp without time zone"
    assert types["rpt_type_zoo.tags"] == "text"  # a list: DuckDB's text of it

    # values equal, whole tables (lists compared as DuckDB prints them)
    def same(duck_rows, pg_rows_):
        fixed = [
            tuple(str(v).replace("'", "") if isinstance(v, list) else v for v in r)
            for r in duck_rows
        ]
        return sorted(fixed, key=repr) == pg_rows_

    for table, rows in marts.items():
        assert same(analytics[f"marts.{table}"], rows), table
    for table, rows in restricted.items():
        assert same(audit[f"main.{table}"], rows), table

    # and by hand, so that the comparison above cannot be fooled by both sides being wrong
    zoo = {r[0]: r for r in marts["rpt_type_zoo"]}
    assert zoo[1][3] == Decimal("-1234567890.12") and zoo[1][4] == date(2021, 10, 8)
    assert zoo[1][5] == datetime(2021, 10, 8, 12, 34, 56, 123456)
    assert zoo[1][7] == "" and zoo[2][7] is None  # empty text is not null
    assert zoo[1][9] == '逗号,引号"换行\n反斜杠\\N' and zoo[3][7] == "\\."
    assert zoo[1][8] == "[a, b]" and zoo[3][2] == 1e300 and zoo[1][1] == 2**40
    findings = {r[0]: r for r in restricted["audit_finding"]}
    with server.admin(dbname=database) as con:
        names = dict(
            con.execute("select id_number, person_name from audit.audit_finding").fetchall()
        )
        amounts = con.execute(
            "select sum(amount_yuan), min(paid_on) from marts.fct_disbursement"
        ).fetchone()
    assert names == {ID_DEAD: NAMES[ID_DEAD], ID_CHILD: NAMES[ID_CHILD]}
    assert amounts == (Decimal("1875.00"), date(2021, 10, 8))
    assert set(findings) == {"f1", "f2"}


def test_roles_analysts_read_the_marts_only_auditors_also_the_audit(server, database, settings):
    publish(settings, GATE)
    grant_people(server, database)

    with reader(server, ANALYST_LOGIN, database) as ana:
        assert ana.execute("select count(*) from marts.fct_disbursement").fetchone() == (3,)
        assert ana.execute("select count(*) from marts.dim_student").fetchone() == (2,)
        for table in ("audit_finding", "audit_finding_payment_line"):
            with pytest.raises(errors.InsufficientPrivilege, match="schema audit"):
                ana.execute(f"select * from audit.{table}")
    with reader(server, AUDITOR_LOGIN, database) as aud:
        assert aud.execute("select count(*) from marts.fct_disbursement").fetchone() == (3,)
        assert aud.execute("select count(*) from audit.audit_finding").fetchone() == (2,)
        assert aud.execute("select count(*) from audit.audit_finding_payment_line").fetchone() == (
            2,
        )
    # a login role that is in neither group: nothing, despite the default privileges to PUBLIC
    with reader(server, STRANGER_LOGIN, database) as stranger:
        for table in ("marts.fct_disbursement", "audit.audit_finding"):
            with pytest.raises(errors.InsufficientPrivilege):
                stranger.execute(f"select * from {table}")
    # the group roles cannot log in themselves
    with server.admin() as con:
        logins = dict(
            con.execute(
                "select rolname, rolcanlogin from pg_roles"
                " where rolname in ('eduaid_analyst', 'eduaid_auditor')"
            ).fetchall()
        )
    assert logins == {"eduaid_analyst": False, "eduaid_auditor": False}

    # the grants survive the next publish (they are made on the new schemas)
    publish(settings, GATE)
    with reader(server, ANALYST_LOGIN, database) as ana:
        assert ana.execute("select count(*) from marts.fct_disbursement").fetchone() == (3,)
        with pytest.raises(errors.InsufficientPrivilege):
            ana.execute("select * from audit.audit_finding")


def test_role_names_come_from_the_settings(server, database, settings):
    settings = dataclasses.replace(
        settings,
        publish_postgres_analyst_role="county_analysts",
        publish_postgres_auditor_role="county_auditors",
    )
    publish(settings, GATE)
    grant_people(server, database, "county_analysts", "county_auditors")
    with reader(server, ANALYST_LOGIN, database) as ana:
        assert ana.execute("select count(*) from marts.dim_student").fetchone() == (2,)
        with pytest.raises(errors.InsufficientPrivilege):
            ana.execute("select * from audit.audit_finding")


def republish_with(settings, extra: int) -> None:
    """The build database gains `extra` payments and students: a publish of other counts."""
    with duckdb.connect(str(settings.build_db)) as con:
        start = con.execute("select count(*) from marts.fct_disbursement").fetchone()[0]
        for i in range(start, start + extra):
            con.execute(
                "insert into marts.fct_disbursement (disbursement_key, term_code, program_code,"
                " person_key, amount_yuan, source_file, source_row)"
                " values (?, '2022-spring', 'BOARD', ?, 625, 'pay_2022s.xlsx', ?)",
                [f"n{i}", f"p{i}", i],
            )
            con.execute("insert into marts.dim_student values (?, 'x', 'F', true)", [f"p{i}"])


def test_a_reader_during_the_swap_sees_the_old_or_the_new_publish_never_a_mix(
    server, database, settings
):
    publish(settings, GATE)  # v1: 3 payments, 2 students
    grant_people(server, database)
    seen: set[tuple] = set()
    failures: list[BaseException] = []
    stop = threading.Event()

    def read_one_statement():
        with reader(server, ANALYST_LOGIN, database) as con:
            while not stop.is_set():
                seen.add(
                    con.execute(
                        "select (select count(*) from marts.fct_disbursement),"
                        " (select count(*) from marts.dim_student)"
                    ).fetchone()
                )

    def read_one_transaction():
        # two statements in one transaction: the first statement's lock holds the old table
        with reader(server, ANALYST_LOGIN, database) as con:
            while not stop.is_set():
                try:
                    with con.transaction():
                        a = con.execute("select count(*) from marts.fct_disbursement").fetchone()
                        time.sleep(0.001)
                        b = con.execute("select count(*) from marts.dim_student").fetchone()
                    seen.add((a[0], b[0]))
                except (errors.DeadlockDetected, errors.LockNotAvailable):
                    pass  # Postgres aborted one side: no mix was seen either

    def guard(target):
        def run():
            try:
                target()
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        return run

    threads = [threading.Thread(target=guard(f)) for f in (read_one_statement,) * 2]
    threads.append(threading.Thread(target=guard(read_one_transaction)))
    for t in threads:
        t.start()
    try:
        time.sleep(0.2)
        published = 0
        for round_ in range(6):
            republish_with(settings, 1 if round_ % 2 == 0 else 0)  # grows: new counts
            try:
                publish(settings, GATE)
                published += 1
            except PostgresPublishError:
                pass  # the transaction reader held the old tables too long, or deadlocked
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not failures, failures
    assert published >= 3
    # every (payments, students) pair a reader saw is one that a publish had: payments are
    # always one more than students (3, 2), (4, 3), (5, 4), (6, 5)
    assert seen and all(payments == students + 1 for payments, students in seen), seen
    assert (3, 2) in seen and len(seen) >= 2, seen


def test_a_reader_holding_the_old_tables_past_the_lock_timeout_fails_the_publish_cleanly(
    server, database, settings
):
    publish(settings, GATE)
    grant_people(server, database)
    before = published_state(server, database)
    analytics = settings.warehouse / "analytics.duckdb"
    file_before = analytics.read_bytes()
    republish_with(settings, 2)

    with reader(server, ANALYST_LOGIN, database) as con, con.transaction():
        con.execute("select count(*) from marts.fct_disbursement").fetchone()
        t0 = time.monotonic()
        with pytest.raises(PublishError, match="lock timeout") as failed:
            publish(settings, GATE)
        assert time.monotonic() - t0 < 30
        assert con.execute("select count(*) from marts.dim_student").fetchone() == (2,)
    assert PUBLISHER_PASSWORD not in str(failed.value)
    assert published_state(server, database) == before  # no leftover new schemas either
    assert analytics.read_bytes() == file_before  # the files wait for Postgres too

    publish(settings, GATE)  # the reader gone, the next publish goes through
    with server.admin(dbname=database) as con:
        assert counts(con)["marts.fct_disbursement"] == 5


def test_a_blocked_gate_leaves_postgres_untouched(server, database, settings):
    publish(settings, GATE)
    before = published_state(server, database)
    republish_with(settings, 2)
    failed = CheckResult(
        "expect_column_values_to_be_unique",
        "disbursement_key",
        "critical",
        False,
        unexpected_count=1,
    )
    with pytest.raises(PublishBlocked):
        publish(settings, {"fct_disbursement": [failed]})
    assert published_state(server, database) == before


def test_a_postgres_failure_midway_leaves_the_old_schemas(server, database, settings, monkeypatch):
    publish(settings, GATE)
    before = published_state(server, database)
    republish_with(settings, 2)
    real_copy, copied = pg_publish._copy_table, []

    def copy_then_fail(conn, duck, source_schema, table, columns, target):
        copied.append(table)
        if len(copied) == 2:  # the second table: the server goes away in the middle of the load
            conn.execute("select pg_terminate_backend(pg_backend_pid())")
        return real_copy(conn, duck, source_schema, table, columns, target)

    monkeypatch.setattr(pg_publish, "_copy_table", copy_then_fail)
    with pytest.raises(PostgresPublishError) as failed:
        publish(settings, GATE)
    assert "previous publish is untouched" in str(failed.value)
    assert PUBLISHER_PASSWORD not in str(failed.value)
    assert len(copied) == 2
    assert published_state(server, database) == before


def test_a_schema_the_publisher_did_not_make_is_not_dropped(server, database, settings):
    with psycopg.connect(settings.publish_postgres_url, autocommit=True) as con:
        con.execute("create schema marts")
        con.execute("create table marts.someone_elses (x integer)")
    with pytest.raises(PostgresPublishError, match="not published by eduaid"):
        publish(settings, GATE)
    with server.admin(dbname=database) as con:
        assert con.execute("select count(*) from marts.someone_elses").fetchone() == (0,)
        assert counts(con) == {"marts.someone_elses": 0}


def test_an_unreachable_server_is_a_publish_error_without_the_password(settings):
    settings = dataclasses.replace(
        settings,
        publish_postgres_url=f"postgresql://someone:{quote(PUBLISHER_PASSWORD, safe='')}"
        f"@127.0.0.1:{_free_port()}/nowhere",
    )
    with pytest.raises(PublishError, match=r"someone@127\.0\.0\.1:\d+/nowhere") as failed:
        publish(settings, GATE)
    assert "s3cret" not in str(failed.value)
    assert not (settings.warehouse / "analytics.duckdb").exists()


def test_the_url_is_read_from_the_environment_and_kept_out_of_repr():
    url = "postgresql://pub:hunter2@db.example:5433/eduaid"
    settings = get_settings({"EDUAID_PUBLISH_POSTGRES_URL": url})
    assert settings.publish_postgres_url == url
    assert "hunter2" not in repr(settings)
    assert get_settings({}).publish_postgres_url is None
    assert (
        get_settings({}).publish_postgres_analyst_role,
        get_settings({}).publish_postgres_auditor_role,
    ) == ("eduaid_analyst", "eduaid_auditor")
    assert mask_url(url) == "pub@db.example:5433/eduaid"
    assert mask_url("host=db user=pub password=hunter2 dbname=x") == "pub@db:5432/x"
    assert "hunter2" not in mask_url("postgresql://pub:hunter2@")
    assert scrub("bad value hunter2 in postgresql://pub:hunter2@db.example:5433/eduaid", url) == (
        "bad value *** in ***"
    )


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "text"),
        ("INTEGER", "integer"),
        ("BIGINT", "bigint"),
        ("DOUBLE", "double precision"),
        ("DECIMAL(12,2)", "numeric(12,2)"),
        ("DECIMAL(38, 4)", "numeric(38,4)"),
        ("DATE", "date"),
        ("TIMESTAMP", "timestamp"),
        ("BOOLEAN", "boolean"),
        ("VARCHAR[]", None),
        ("STRUCT(a INTEGER)", None),
        ("INTERVAL", None),
    ],
)
def test_duckdb_types_map_to_postgres_types(duckdb_type, expected):
    assert pg_type(duckdb_type) == expected


def test_make_publish_postgres_serves_the_files_published_before_the_url_was_set(
    server, database, settings, monkeypatch, capsys
):
    url = settings.publish_postgres_url
    publish(dataclasses.replace(settings, publish_postgres_url=None), GATE)  # files only
    for name, value in {
        "EDUAID_WAREHOUSE": str(settings.warehouse),
        "EDUAID_PUBLISH_POSTGRES_URL": url,
    }.items():
        monkeypatch.setenv(name, value)

    assert pg_publish.main() == 0
    out = capsys.readouterr().out
    assert "marts.fct_disbursement" in out and PUBLISHER_PASSWORD not in out
    with server.admin(dbname=database) as con:
        assert counts(con)["marts.fct_disbursement"] == 3
        assert counts(con)["audit.audit_finding"] == 2

    monkeypatch.delenv("EDUAID_PUBLISH_POSTGRES_URL")
    assert pg_publish.main() == 2


def test_the_publish_step_records_a_postgres_failure_and_publishes_nothing(settings):
    """`publish_run` (the Dagster asset, `make run`): the reason kept, no file, no workbook."""
    settings = dataclasses.replace(
        settings,
        publish_postgres_url=f"postgresql://someone:{quote(PUBLISHER_PASSWORD, safe='')}"
        f"@127.0.0.1:{_free_port()}/nowhere",
    )
    history = History(settings.warehouse / "reports")
    for check in discover():
        history.record("run1", check, [passed()])
    with pytest.raises(PublishError):
        publish_run(settings, "run1")
    outcome, reasons = history.outcome("run1")
    assert outcome == BLOCKED and "PostgreSQL someone@127.0.0.1" in reasons[0]
    assert "s3cret" not in reasons[0]
    assert not (settings.warehouse / "analytics.duckdb").exists()
    assert not (settings.warehouse / "reports" / WORKBOOK).exists()
