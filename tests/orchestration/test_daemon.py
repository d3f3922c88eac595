"""The pipeline as data engineers run it: the real Dagster daemon on localhost.

A landing file dropped into the folder is published without anyone running a command (the
landing sensor launches `eduaid_pipeline`); the same content again launches nothing; two
runs launched at once end one after the other, both published, the warehouse consistent.
The daemon is started in its own process group, bounded in time and stopped by its pid.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from orchestration.pipeline.instance import ensure_dagster_home
from orchestration.quality.history import PUBLISHED, History
from orchestration.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "fixtures" / "samples"
BIN = Path(sys.executable).parent
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
SENSOR_INTERVAL = 5
pytestmark = pytest.mark.slow


def _aged_copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    past = time.time() - 3600
    os.utime(target, (past, past))


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, pseudonym_key):
    root = tmp_path_factory.mktemp("daemon")
    env = {
        **os.environ,
        "EDUAID_LANDING": str(root / "landing"),
        "EDUAID_WAREHOUSE": str(root / "warehouse"),
        "EDUAID_KEY_FILE": str(root / "key"),
        "EDUAID_PSEUDONYM_KEY": pseudonym_key,
        "EDUAID_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL),
        "EDUAID_SETTLE_SECONDS": "1",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    (root / "landing").mkdir()
    settings = get_settings(env)
    home = ensure_dagster_home(settings)
    log = open(root / "daemon.log", "w")  # noqa: SIM115  closed below
    process = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "orchestration.definitions"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield root, env, settings, DagsterInstance.from_config(str(home))
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the daemon and the runs it launched
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _runs(instance):
    return instance.get_runs(RunsFilter(job_name="eduaid_pipeline"))


def _wait(instance, count: int, root: Path, timeout: float = 600) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _runs(instance)
        if len(runs) >= count and all(r.status in DONE for r in runs):
            return runs
        time.sleep(2)
    log = (root / "daemon.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"{count} runs not done in {timeout} s: {_runs(instance)}\n{log}")


def _payment_lines(settings) -> int:
    with duckdb.connect(str(settings.warehouse / "analytics.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from marts.fct_disbursement").fetchone()[0]


def test_a_dropped_file_is_published_by_the_sensor_and_the_same_again_launches_nothing(daemon):
    root, _, settings, instance = daemon
    for folder in SAMPLES.iterdir():
        if folder.is_dir():
            (root / "landing" / folder.name).mkdir()
            for path in folder.iterdir():
                _aged_copy(path, root / "landing" / folder.name / path.name)
    (run,) = _wait(instance, 1, root)
    assert run.status == DagsterRunStatus.SUCCESS, run
    assert run.tags["dagster/sensor_name"] == "landing_sensor"
    assert run.tags["dagster/run_key"].startswith("eduaid_pipeline:")
    assert History(settings.warehouse / "reports").outcome(run.run_id)[0] == PUBLISHED
    assert _payment_lines(settings) == 11
    assert (settings.warehouse / "reports" / "runs" / f"{run.run_id}.md").exists()

    name = "示范县2020年秋季学期学生资助发放明细.csv"  # the same bytes under another name
    _aged_copy(SAMPLES / "disbursements" / name, root / "landing" / "disbursements" / "副本.csv")
    time.sleep(4 * SENSOR_INTERVAL)
    assert len(_runs(instance)) == 1


def test_two_runs_launched_at_once_run_one_after_the_other(daemon):
    root, env, settings, instance = daemon
    before = len(_runs(instance))
    launch = [str(BIN / "dagster"), "job", "launch", "-m", "orchestration.definitions",
              "-j", "eduaid_pipeline"]  # fmt: skip
    for _ in range(2):
        subprocess.run(launch, cwd=REPO, env=env, check=True, timeout=120, capture_output=True)
    runs = _wait(instance, before + 2, root)
    new = sorted(
        runs[: len(runs) - before], key=lambda r: instance.get_run_stats(r.run_id).start_time
    )
    assert [r.status for r in new] == [DagsterRunStatus.SUCCESS] * 2
    first, second = (instance.get_run_stats(r.run_id) for r in new)
    assert second.start_time >= first.end_time  # the queue let one run at a time
    history = History(settings.warehouse / "reports")
    assert [history.outcome(r.run_id)[0] for r in new] == [PUBLISHED] * 2
    assert _payment_lines(settings) == 11  # nothing twice: the same files were already loaded
