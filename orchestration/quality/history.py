"""Every validation result over time: `<warehouse>/reports/validation_results.duckdb`.

Two tables: `validation_run` (one row per pipeline run: when, and whether it published
or was blocked, and why) and `validation_result` (one row per expectation of each check
in each run: run, check, suite, table, expectation, column, severity, success, observed
value, unexpected count, example rows, problem; and the decision, passed, blocked, warned
or not_applicable, with a note where it is not GX's own verdict). The gate reads it back:
the publish step takes the current run's results from here, and the row-count expectations compare
with a previous run's observed count. `validation_results.csv` beside it is the same
result table for a spreadsheet (UTF-8 with BOM, so that Excel reads the Chinese).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from orchestration.quality.runner import ROW_COUNT, CheckResult
from orchestration.quality.suites import Check

RESULTS_DB = "validation_results.duckdb"
RESULTS_CSV = "validation_results.csv"
PUBLISHED, BLOCKED = "published", "blocked"

DDL = """
create table if not exists validation_run (
    run_id varchar primary key,
    started_at timestamp,
    finished_at timestamp,
    outcome varchar,  -- published | blocked | null while running or when the run broke
    reasons varchar
);
alter table validation_run add column if not exists landing_fingerprint varchar;
create table if not exists validation_result (
    run_id varchar,
    validated_at timestamp,
    check_name varchar,
    suite varchar,
    checked_table varchar,
    expectation varchar,
    column_name varchar,
    severity varchar,
    success boolean,
    observed_value varchar,  -- JSON
    unexpected_count bigint,
    examples varchar,  -- JSON: row ids of a few bad rows
    problem varchar
);
-- added later: kept as migrations so that an older results history keeps working
alter table validation_result add column if not exists applicable boolean default true;
alter table validation_result add column if not exists decision varchar;
alter table validation_result add column if not exists note varchar;
-- what the results were computed from (gate.py: basis), and the run they were carried from
-- when the same basis had been validated before
alter table validation_result add column if not exists basis varchar;
alter table validation_result add column if not exists carried_from varchar;
alter table validation_result add column if not exists needs_history boolean default false;
"""
COLUMNS = [
    "run_id",
    "validated_at",
    "check_name",
    "suite",
    "checked_table",
    "expectation",
    "column_name",
    "severity",
    "success",
    "observed_value",
    "unexpected_count",
    "examples",
    "problem",
    "applicable",
    "decision",
    "note",
    "basis",
    "carried_from",
    "needs_history",
]


class History:
    def __init__(self, reports: Path):
        self.reports = Path(reports)
        self.path = self.reports / RESULTS_DB

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.reports.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path))
        con.execute(DDL)
        return con

    def start(self, run_id: str) -> None:
        with self._connect() as con:
            con.execute(
                "insert into validation_run (run_id, started_at) values (?, ?) "
                "on conflict do nothing",
                [run_id, _now()],
            )

    def record(
        self,
        run_id: str,
        check: Check,
        results: Sequence[CheckResult],
        basis: str | None = None,
        carried_from: str | None = None,
    ) -> None:
        """The results of one check in one run (a rerun of the check replaces them): what
        they were computed from (`basis`), and the run they were carried from, if any."""
        self.start(run_id)
        now = _now()
        rows = [
            [
                run_id,
                now,
                check.name,
                check.suite,
                check.table,
                r.expectation,
                r.column,
                r.severity,
                r.success,
                _json(r.observed_value),
                r.unexpected_count,
                _json(r.examples) if r.examples else None,
                r.problem,
                r.applicable,
                r.decision,
                r.note,
                basis,
                carried_from,
                r.needs_history,
            ]
            for r in results
        ]
        with self._connect() as con:
            con.execute(
                "delete from validation_result where run_id = ? and check_name = ?",
                [run_id, check.name],
            )
            if rows:
                con.executemany(
                    f"insert into validation_result ({', '.join(COLUMNS)}) "
                    f"values ({', '.join('?' * len(COLUMNS))})",
                    rows,
                )

    def finish(
        self,
        run_id: str,
        outcome: str,
        reasons: Sequence[str] = (),
        landing_fingerprint: str | None = None,
    ) -> None:
        self.start(run_id)
        with self._connect() as con:
            con.execute(
                "update validation_run set finished_at = ?, outcome = ?, reasons = ?, "
                "landing_fingerprint = coalesce(?, landing_fingerprint) where run_id = ?",
                [_now(), outcome, "\n".join(reasons) or None, landing_fingerprint, run_id],
            )

    def last_published(self) -> tuple[str, str | None] | None:
        """(run id, landing fingerprint) of the latest published run; None if none."""
        if not self.path.exists():
            return None
        with self._connect() as con:
            row = con.execute(
                "select run_id, landing_fingerprint from validation_run "
                f"where outcome = '{PUBLISHED}' order by finished_at desc limit 1"
            ).fetchone()
        return (row[0], row[1]) if row else None

    def runs(self) -> list[tuple[str, Any, str | None, str | None]]:
        """(run_id, started_at, outcome, reasons) of every run, newest first."""
        if not self.path.exists():
            return []
        with self._connect() as con:
            return con.execute(
                "select run_id, started_at, outcome, reasons from validation_run "
                "order by started_at desc"
            ).fetchall()

    def outcome(self, run_id: str) -> tuple[str | None, list[str]]:
        """(published | blocked | None, the reasons it was blocked)."""
        if not self.path.exists():
            return None, []
        with self._connect() as con:
            row = con.execute(
                "select outcome, reasons from validation_run where run_id = ?", [run_id]
            ).fetchone()
        if not row:
            return None, []
        return row[0], (row[1] or "").splitlines()

    def results_of(self, run_id: str) -> dict[str, list[CheckResult]]:
        """check name -> its results in the run (in the order they were validated)."""
        if not self.path.exists():
            return {}
        with self._connect() as con:
            rows = con.execute(
                "select check_name, expectation, column_name, severity, success, "
                "observed_value, unexpected_count, examples, problem, applicable, note, "
                "needs_history "
                "from validation_result where run_id = ? order by check_name, rowid",
                [run_id],
            ).fetchall()
        by_check: dict[str, list[CheckResult]] = {}
        for name, expectation, column, severity, success, observed, unexpected, *rest in rows:
            ex, problem, applicable, note, needs_history = rest
            by_check.setdefault(name, []).append(
                CheckResult(
                    expectation=expectation,
                    column=column,
                    severity=severity,
                    success=success,
                    observed_value=json.loads(observed) if observed is not None else None,
                    unexpected_count=unexpected,
                    examples=json.loads(ex) if ex else [],
                    problem=problem,
                    applicable=applicable is not False,
                    note=note,
                    needs_history=bool(needs_history),
                )
            )
        return by_check

    def validated(self, check: Check, basis: str, run_id: str) -> str | None:
        """The latest other run that validated the check on the same basis (the same
        builds of its tables, suite, gate code and thresholds: gate.check_basis), that is
        the run where the results were computed."""
        if not self.path.exists():
            return None
        with self._connect() as con:
            row = con.execute(
                "select coalesce(carried_from, run_id) from validation_result "
                "where check_name = ? and basis = ? and run_id <> ? "
                "order by validated_at desc limit 1",
                [check.name, basis, run_id],
            ).fetchone()
        return row[0] if row else None

    def previous_row_count(self, check: Check, run_id: str) -> int | None:
        """The check's observed row count in the latest earlier run that loaded (inputs)
        or published (marts); None when there is none."""
        if not self.path.exists():
            return None
        published_only = "" if check.is_input else f"and run.outcome = '{PUBLISHED}'"
        with self._connect() as con:
            row = con.execute(
                f"""
                select result.observed_value
                from validation_result as result
                join validation_run as run on result.run_id = run.run_id
                where result.check_name = ? and result.expectation = ?
                    and result.run_id <> ? and result.observed_value is not null
                    {published_only}
                order by result.validated_at desc
                limit 1
                """,
                [check.name, ROW_COUNT, run_id],
            ).fetchone()
        return int(json.loads(row[0])) if row else None

    def export_csv(self) -> Path:
        target = self.reports / RESULTS_CSV
        with self._connect() as con:
            cursor = con.execute(
                f"select {', '.join(COLUMNS)} from validation_result order by validated_at, rowid"
            )
            tmp = target.with_name(f".{target.name}.tmp")
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(COLUMNS)
                while batch := cursor.fetchmany(10_000):
                    writer.writerows(batch)
        tmp.replace(target)
        return target


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)
