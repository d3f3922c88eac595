"""The publish step of one pipeline run: the gate's verdict read back, then publish.

Used by the Dagster asset `warehouse/published` and by `make run`. It does not trust
that Dagster skipped it on a failed check: it reads every check's results of this run
from the results history (a check that did not run counts as failed), publishes only
when no critical expectation failed, records the outcome, and writes the auditors'
workbook from the new audit.duckdb and the term reports (资助工作统计报告) from the new
analytics.duckdb.
"""

from __future__ import annotations

from orchestration.pipeline.fingerprint import ingested_fingerprint
from orchestration.publish.publisher import PublishBlocked, PublishError, PublishResult, publish
from orchestration.quality.gate import gate_of_run, reports_dir
from orchestration.quality.history import BLOCKED, PUBLISHED, History
from orchestration.reports.term_report import TERM_REPORT_DIR, write_term_reports
from orchestration.reports.workbook import WORKBOOK, write_findings_workbook
from orchestration.settings import Settings


def publish_run(settings: Settings, run_id: str) -> PublishResult:
    """Publish if this run's gate passed; else raise `PublishBlocked` (nothing touched)."""
    history = History(reports_dir(settings))
    try:
        published = publish(settings, gate_of_run(settings, run_id))
    except PublishBlocked as blocked:
        history.finish(run_id, BLOCKED, blocked.reasons)
        raise
    except PublishError as error:
        history.finish(run_id, BLOCKED, [str(error)])
        raise
    write_findings_workbook(published.audit, reports_dir(settings) / WORKBOOK)
    write_term_reports(published.analytics, reports_dir(settings) / TERM_REPORT_DIR)
    history.finish(run_id, PUBLISHED, landing_fingerprint=ingested_fingerprint(settings.build_db))
    return published
