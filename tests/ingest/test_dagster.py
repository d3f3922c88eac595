"""Dagster: the six raw assets materialize in process; the landing sensor asks for one
eduaid_pipeline run per new content, and the schedule skips an unchanged landing."""

import json
import shutil

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context, materialize

from orchestration.definitions import defs
from orchestration.ingest.assets import raw_assets
from orchestration.pipeline.definitions import landing_sensor, monthly_pipeline
from orchestration.pipeline.landing import sha256_file

from .conftest import SAMPLES, age, copy_samples, put


@pytest.fixture
def env(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("EDUAID_LANDING", str(landing))
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.delenv("EDUAID_BUILD_DB", raising=False)
    return landing, tmp_path / "warehouse" / "build.duckdb"


def test_definitions_load_one_job_with_the_whole_graph():
    assert [j.name for j in defs.jobs] == ["eduaid_pipeline"]
    job = defs.resolve_job_def("eduaid_pipeline")
    keys = {k.to_user_string() for k in job.asset_layer.asset_graph.get_all_asset_keys()}
    assert {f"raw/{s}" for s in ("households", "students", "schools")} <= keys
    assert {"staging/stg_students__enrollments", "marts/fct_disbursement"} <= keys
    assert {"warehouse/published", "warehouse/reports"} <= keys
    checks = {k.name for k in job.asset_layer.asset_graph.asset_check_keys}
    assert {"load_manifest__students", "fct_disbursement__reconciliation"} <= checks
    assert defs.resolve_sensor_def("landing_sensor").job_name == "eduaid_pipeline"
    assert defs.resolve_schedule_def("monthly_pipeline").job_name == "eduaid_pipeline"


def test_materialize_the_six_raw_assets(env):
    landing, db = env
    copy_samples(landing)
    instance = DagsterInstance.ephemeral()
    result = materialize(raw_assets, instance=instance)
    assert result.success
    loaded = {
        e.asset_key.path[-1]: e.materialization.metadata["rows_loaded"].value
        for e in result.get_asset_materialization_events()
    }
    assert loaded == {
        "households": 7, "students": 7, "schools": 5,
        "disbursements": 11, "population": 5, "dropout_ledger": 1,
    }  # fmt: skip
    assert db.exists()
    again = materialize(raw_assets, instance=instance)
    metadata = [e.materialization.metadata for e in again.get_asset_materialization_events()]
    assert {m["rows_loaded"].value for m in metadata} == {0}
    assert sum(m["files_already_loaded"].value for m in metadata) == 6


def tick(instance, cursor):
    context = build_sensor_context(instance=instance, cursor=cursor)
    result = landing_sensor(context)
    assert isinstance(result, SensorResult)
    return result.run_requests or [], result.cursor


def test_sensor_requests_one_run_per_new_content(env):
    landing, _ = env
    instance = DagsterInstance.ephemeral()
    schools = SAMPLES / "schools" / "学校名录_202009.csv"
    first = put(landing, "schools", "学校名录_202009.csv", schools.read_bytes())
    age(first)

    requests, cursor = tick(instance, None)
    assert len(requests) == 1
    assert requests[0].run_key == f"eduaid_pipeline:{sha256_file(first)}"
    assert requests[0].asset_selection is None  # the whole pipeline, not just the ingest
    assert requests[0].tags["eduaid/new_file_names"] == "schools/学校名录_202009.csv"

    requests, cursor = tick(instance, cursor)  # nothing new
    assert requests == []

    age(put(landing, "schools", "copy_202009.csv", schools.read_bytes()))  # same content
    requests, cursor = tick(instance, cursor)
    assert requests == []

    for folder in ("students", "disbursements"):  # two new contents at once: one run
        shutil.copytree(SAMPLES / folder, landing / folder)
        for path in (landing / folder).iterdir():
            path.chmod(0o644)
            age(path)
    requests, cursor = tick(instance, cursor)
    assert len(requests) == 1
    assert requests[0].tags["eduaid/new_files"] == "2"
    assert len(json.loads(cursor)["seen"]) == 3


def test_sensor_waits_for_a_file_to_settle(env):
    landing, _ = env
    put(landing, "schools", "学校名录_202010.csv", b"still being copied")
    requests, cursor = tick(DagsterInstance.ephemeral(), None)
    assert requests == []
    assert json.loads(cursor)["seen"] == []


def _publish_fingerprint_of(landing, warehouse, run_id="published-before"):
    """Record in the results history a published run that ingested exactly `landing`."""
    from orchestration.pipeline.landing import landing_fingerprint, scan_landing
    from orchestration.quality.history import PUBLISHED, History

    files = scan_landing(landing, {}, now=9e18, settle_seconds=0)
    History(warehouse / "reports").finish(
        run_id, PUBLISHED, landing_fingerprint=landing_fingerprint(files)
    )


def test_sensor_skips_a_landing_unchanged_since_the_last_publish(env):
    landing, db = env
    copy_samples(landing)
    _publish_fingerprint_of(landing, db.parent)
    result = landing_sensor(build_sensor_context(instance=DagsterInstance.ephemeral()))
    assert result.run_requests == []
    assert "nothing changed since published run published-before" in result.skip_reason.skip_message
    age(
        put(
            landing,
            "schools",
            "学校名录_202010.csv",
            (SAMPLES / "schools" / "学校名录_202009.csv").read_bytes() + b"\n",
        )
    )
    result = landing_sensor(build_sensor_context(instance=DagsterInstance.ephemeral()))
    assert len(result.run_requests) == 1


def test_the_schedule_ticks_monthly_on_the_5th_at_2_in_shanghai():
    from datetime import UTC, datetime

    from dagster._utils.schedules import cron_string_iterator

    assert (monthly_pipeline.cron_schedule, monthly_pipeline.execution_timezone) == (
        "0 2 5 * *", "Asia/Shanghai",
    )  # fmt: skip
    # 2026-12-04 12:00 UTC is 20:00 in Shanghai: the next tick is the next morning at 2
    ticks = cron_string_iterator(
        datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp(),
        monthly_pipeline.cron_schedule,
        monthly_pipeline.execution_timezone,
    )
    assert next(ticks).isoformat() == "2026-12-05T02:00:00+08:00"
    assert next(ticks).isoformat() == "2027-01-05T02:00:00+08:00"


def test_the_schedule_runs_a_changed_landing_and_skips_an_unchanged_one(env):
    from dagster import RunRequest, SkipReason, build_schedule_context

    landing, db = env
    context = build_schedule_context(instance=DagsterInstance.ephemeral())
    empty = monthly_pipeline(context)
    assert isinstance(empty, SkipReason) and "holds no settled file" in empty.skip_message
    copy_samples(landing)
    request = monthly_pipeline(context)
    assert isinstance(request, RunRequest) and request.run_key is None
    _publish_fingerprint_of(landing, db.parent)
    skipped = monthly_pipeline(context)
    assert isinstance(skipped, SkipReason)
    assert "nothing changed since published run" in skipped.skip_message
