"""Dagster: the six raw assets materialize in process; the sensor asks once per content."""

import json
import shutil

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context, materialize

from orchestration.definitions import defs
from orchestration.ingest.assets import raw_assets
from orchestration.ingest.sensors import landing_sensor, sha256_file

from .conftest import SAMPLES, age, copy_samples, put


@pytest.fixture
def env(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("EDUAID_LANDING", str(landing))
    monkeypatch.setenv("EDUAID_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.delenv("EDUAID_BUILD_DB", raising=False)
    return landing, tmp_path / "warehouse" / "build.duckdb"


def test_definitions_load():
    job = defs.resolve_job_def("raw_ingest")
    keys = {k.to_user_string() for k in job.asset_layer.asset_graph.get_all_asset_keys()}
    assert {f"raw/{s}" for s in ("households", "students", "schools")} <= keys
    assert defs.resolve_sensor_def("landing_sensor") is not None


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
    assert requests[0].run_key == f"raw_ingest:{sha256_file(first)}"
    assert [k.to_user_string() for k in requests[0].asset_selection] == ["raw/schools"]

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
    assert {k.path[-1] for k in requests[0].asset_selection} == {"students", "disbursements"}
    assert len(json.loads(cursor)["seen"]) == 3


def test_sensor_waits_for_a_file_to_settle(env):
    landing, _ = env
    put(landing, "schools", "学校名录_202010.csv", b"still being copied")
    requests, cursor = tick(DagsterInstance.ephemeral(), None)
    assert requests == []
    assert json.loads(cursor)["seen"] == []
