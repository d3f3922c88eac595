"""`make run`: the whole pipeline in process, on the configured landing folder.

Generates the demo county first when the landing folder is empty, so that a fresh
clone shows something real, and a local pseudonym key when there is none; then
executes the Dagster job `eduaid_pipeline` (the same job the UI, the landing sensor and
the schedule run), in the project's Dagster instance so that the run is in the UI's
history: the ingest, the quality checks of the inputs (asset checks), `dbt build`, the
checks of the marts, and the publish step,
which writes `<warehouse>/analytics.duckdb`, `audit.duckdb` and the auditors' workbook
only when no critical expectation failed. Ends with the run summary (Chinese), also in
`<warehouse>/reports/run_summary.md`. Exit status: 0 published, 2 blocked by the
gate (the previous publish untouched), 1 broken.
"""

from __future__ import annotations

import sys
import time

import duckdb

from orchestration.dbt.keys import ensure_key
from orchestration.lock import build_lock
from orchestration.publish.publisher import gate_reasons
from orchestration.quality.gate import reports_dir
from orchestration.quality.history import BLOCKED, PUBLISHED, History
from orchestration.quality.runner import RunDocs, build_docs
from orchestration.reports.summary import (
    SUMMARY,
    prune_run_docs,
    write_reports_index,
    write_run_summary,
)
from orchestration.settings import Settings, get_settings


def _landing_is_empty(settings: Settings) -> bool:
    return not settings.landing.exists() or not any(
        p.is_file() for p in settings.landing.rglob("*")
    )


def ensure_demo_data(settings: Settings) -> None:
    if not _landing_is_empty(settings):
        return
    from eduaid_synth.cli import generate

    print(f"{settings.landing} is empty: generating the demo county (示范县, scale 1, seed 7) ...")
    t0 = time.perf_counter()
    res = generate(1, 7, settings.landing, settings.truth, force=True)
    files = sum(r["files"] for r in res)
    records = sum(r["records"] for r in res)
    print(
        f"  wrote {files} files, {records:,} records in {time.perf_counter() - t0:.0f} s; "
        f"truth in {settings.truth}"
    )


def manifest_summary(settings: Settings) -> str:
    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        rows = con.execute("""
            select source,
                   count(*) as files,
                   count(*) filter (where status = 'loaded') as loaded,
                   count(*) filter (where status = 'rejected') as rejected,
                   coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                   coalesce(sum(rows_quarantined), 0),
                   count(*) filter (where is_total_reconciled) as reconciled,
                   count(*) filter (where is_total_reconciled = false) as unreconciled
            from raw.load_manifest
            group by source
            order by source
        """).fetchall()
        errors = con.execute("""
            select source, file_name, error from raw.load_manifest
            where status = 'rejected' order by source, file_name
        """).fetchall()
    head = (
        f"{'source':<16}{'files':>6}{'loaded':>8}{'rejected':>9}{'rows read':>11}"
        f"{'loaded':>10}{'quarant.':>9}{'totals ok':>10}{'totals off':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r[0]:<16}{r[1]:>6}{r[2]:>8}{r[3]:>9}{r[4]:>11,}{r[5]:>10,}{r[6]:>9,}"
            f"{r[7]:>10}{r[8]:>11}"
        )
    for source, name, error in errors:
        lines.append(f"rejected {source}/{name}: {error}")
    return "\n".join(lines)


def main() -> int:
    settings = get_settings()
    ensure_demo_data(settings)
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    created = ensure_key(settings)
    if created:
        print(f"no pseudonym key: created a local one for the demo in {created} (never commit it)")
    # Imported here: loading the dbt assets parses the dbt project when needed.
    from orchestration.definitions import defs
    from orchestration.pipeline.definitions import PIPELINE
    from orchestration.pipeline.instance import pipeline_instance

    job = defs.resolve_job_def(PIPELINE)
    t0 = time.perf_counter()
    with build_lock(settings, None, "make run"):
        result = job.execute_in_process(
            instance=pipeline_instance(settings),
            raise_on_error=False,
            tags={"eduaid/started_by": "make run"},
        )
    print(f"\nrun {result.run_id} finished in {time.perf_counter() - t0:.0f} s. Load manifest:\n")
    print(manifest_summary(settings))
    status = conclude(settings, result.run_id, result.success)
    summary = reports_dir(settings) / SUMMARY
    print("\n" + summary.read_text(encoding="utf-8"))
    print(f"run summary: {summary}")
    print(f"build database (raw, staging, intermediate, marts): {settings.build_db}")
    return status


def conclude(settings: Settings, run_id: str, success: bool) -> int:
    """0 published, 2 blocked by the gate, 1 broken; the outcome kept in the history, the
    reports written (results as CSV, run summary, reports index)."""
    history = History(reports_dir(settings))
    outcome, _ = history.outcome(run_id)
    if outcome is None:
        # the publish step did not run: a blocking check upstream stopped the run, or a step broke
        reasons = gate_reasons(history.results_of(run_id))
        if history.results_of(run_id) and reasons:
            history.finish(run_id, BLOCKED, reasons)
            outcome = BLOCKED
    history.export_csv()
    build_docs(RunDocs(reports_dir(settings), run_id))  # once, from every check's results
    write_run_summary(settings, run_id)
    prune_run_docs(reports_dir(settings), history, settings.keep_run_docs)
    write_reports_index(reports_dir(settings), history)
    if outcome == PUBLISHED:
        return 0
    if outcome == BLOCKED:
        _, reasons = history.outcome(run_id)
        print(
            "\nnothing published; why:\n" + "\n".join(f"  - {r}" for r in reasons), file=sys.stderr
        )
        return 2
    print("\nthe pipeline failed before its quality gate; see the log above", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
