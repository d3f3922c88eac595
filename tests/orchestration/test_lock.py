"""One writer at a time: the build lock, between real processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from orchestration.lock import BuildDatabaseBusy, build_lock, holder
from orchestration.settings import get_settings

HOLD = """
import sys, time
from orchestration.lock import build_lock
from orchestration.settings import get_settings
with build_lock(get_settings({"EDUAID_WAREHOUSE": sys.argv[1]}), "run-a", "dbt build"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(warehouse, seconds):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_fails_naming_the_holder(tmp_path):
    settings = get_settings({"EDUAID_WAREHOUSE": str(tmp_path)})
    other = _hold(tmp_path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(BuildDatabaseBusy) as busy, build_lock(settings, "run-b", "x", 1):
            pass
        assert time.monotonic() - started >= 1
        message = str(busy.value)
        assert "dbt build of run run-a" in message and f"process {other.pid}" in message
        assert holder(settings)["run_id"] == "run-a"
    finally:
        other.kill()
        other.wait()


def test_a_second_writer_waits_for_the_first(tmp_path):
    settings = get_settings({"EDUAID_WAREHOUSE": str(tmp_path)})
    other = _hold(tmp_path, 2)
    started = time.monotonic()
    with build_lock(settings, "run-b", "the ingest", 60):
        waited = time.monotonic() - started
        assert holder(settings)["run_id"] == "run-b"
    other.wait(timeout=10)
    assert 0.5 < waited < 30


def test_the_lock_is_reentrant_in_one_process_and_freed_by_a_killed_holder(tmp_path):
    settings = get_settings({"EDUAID_WAREHOUSE": str(tmp_path)})
    with build_lock(settings, None, "make run"), build_lock(settings, "r", "a step", 0):
        pass  # make run holds it, then its steps take it again
    other = _hold(tmp_path, 60)
    other.kill()
    other.wait()
    with build_lock(settings, "r", "after a crash", 5):  # the OS released the dead one's lock
        pass
