"""`eduaid_pipeline`: the one job, and what starts it.

ingest (raw assets) → input checks → `dbt build` → mart checks → publish → reports: the
whole asset graph with its checks, in one process (one writer on the build database).
`make run` executes this job; in the Dagster UI it is the job to launch, and two things
start it without anyone running a command:

- `landing_sensor`: new file content in the landing folder (run key = content hash, so
  the same bytes under any name never start a second run);
- `monthly_pipeline`: a schedule (default on the 5th at 02:00 Asia/Shanghai;
  `EDUAID_SCHEDULE_CRON`, `EDUAID_SCHEDULE_TIMEZONE`).

Both skip when the landing folder holds exactly what the last published run ingested.
`pipeline_concluded` writes the run summary, the results CSV and the reports index after
every run that failed (the `warehouse/reports` asset does it after a published one).
"""

import json
import time

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    MaterializeResult,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    in_process_executor,
    run_status_sensor,
    schedule,
    sensor,
)
from dagster import MetadataValue as MV

from orchestration.pipeline.landing import LandingFile, landing_fingerprint, plan_run, scan_landing
from orchestration.publish.assets import PUBLISHED_KEY
from orchestration.quality.gate import reports_dir
from orchestration.quality.history import History
from orchestration.quality.runner import RunDocs
from orchestration.settings import Settings, get_settings

PIPELINE = "eduaid_pipeline"
REPORTS_KEY = AssetKey(["warehouse", "reports"])

eduaid_pipeline = define_asset_job(
    PIPELINE,
    selection=AssetSelection.all(),  # every asset, and so every check on them
    executor_def=in_process_executor,  # DuckDB: one writer, one process
    description=(
        "The whole pipeline: ingest the landing folder, check the inputs, dbt build, check "
        "the marts, publish analytics.duckdb and audit.duckdb only if no critical "
        "expectation failed, write the reports."
    ),
)


@asset(
    key=REPORTS_KEY,
    deps=[PUBLISHED_KEY],
    group_name="publish",
    kinds={"python"},
    description=(
        "<warehouse>/reports/: the run summary (Chinese), validation_results.csv and "
        "index.html with the run's Data Docs; the findings workbook is written by the "
        "publish step."
    ),
)
def pipeline_reports(context: AssetExecutionContext) -> MaterializeResult:
    from orchestration.run import conclude  # the same ending as make run's

    settings, run_id = get_settings(), context.run.run_id
    conclude(settings, run_id, True)
    outcome, _ = History(reports_dir(settings)).outcome(run_id)
    docs = RunDocs(reports_dir(settings), run_id)
    return MaterializeResult(
        metadata={
            "outcome": outcome or "unknown",
            "run_summary": MV.path(str(reports_dir(settings) / "runs" / f"{run_id}.md")),
            "data_docs": MV.url(docs.index.resolve().as_uri()),
            "reports_index": MV.path(str(reports_dir(settings) / "index.html")),
        }
    )


@run_status_sensor(
    run_status=DagsterRunStatus.FAILURE,
    monitored_jobs=[eduaid_pipeline],
    default_status=DefaultSensorStatus.RUNNING,
    description="After a failed or blocked pipeline run: its run summary and the reports.",
)
def pipeline_concluded(context: RunStatusSensorContext):
    from orchestration.run import conclude

    conclude(get_settings(), context.dagster_run.run_id, False)


def unchanged_since_publish(settings: Settings, files: list[LandingFile]) -> str | None:
    """Why not to run (the landing folder holds what the last published run ingested,
    or nothing), else None."""
    if not files:
        return f"the landing folder {settings.landing} holds no settled file"
    last = History(reports_dir(settings)).last_published()
    if last and last[1] == landing_fingerprint(files):
        return f"nothing changed since published run {last[0]}"
    return None


def _tags(files: list[LandingFile], new: list[LandingFile]) -> dict[str, str]:
    return {
        "eduaid/landing_fingerprint": landing_fingerprint(files),
        "eduaid/new_files": str(len(new)),
        "eduaid/new_file_names": ", ".join(f"{f.source}/{f.name}" for f in new)[:1000],
    }


_settings = get_settings()  # the intervals and the cron are fixed when the code loads


@sensor(
    job=eduaid_pipeline,
    minimum_interval_seconds=_settings.sensor_interval_seconds,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches <landing>/<source>/ and runs eduaid_pipeline once per new file content.",
)
def landing_sensor(context: SensorEvaluationContext):
    settings = get_settings()
    known = json.loads(context.cursor).get("files", {}) if context.cursor else {}
    files = scan_landing(settings.landing, known, time.time(), settings.settle_seconds)
    plan = plan_run(files, context.cursor, PIPELINE)
    if not plan.new:
        return SensorResult(skip_reason=SkipReason("no new file content"), cursor=plan.cursor)
    why_not = unchanged_since_publish(settings, files)
    if why_not:
        return SensorResult(skip_reason=SkipReason(why_not), cursor=plan.cursor)
    request = RunRequest(run_key=plan.run_key, tags=_tags(files, plan.new))
    return SensorResult(run_requests=[request], cursor=plan.cursor)


@schedule(
    job=eduaid_pipeline,
    cron_schedule=_settings.schedule_cron,
    execution_timezone=_settings.schedule_timezone,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Runs eduaid_pipeline on the landing folder (skips when nothing changed).",
)
def monthly_pipeline(context: ScheduleEvaluationContext):
    settings = get_settings()
    files = scan_landing(settings.landing, {}, time.time(), settings.settle_seconds)
    why_not = unchanged_since_publish(settings, files)
    if why_not:
        return SkipReason(why_not)
    return RunRequest(tags=_tags(files, []))


defs = Definitions(
    assets=[pipeline_reports],
    jobs=[eduaid_pipeline],
    sensors=[landing_sensor, pipeline_concluded],
    schedules=[monthly_pipeline],
)
