"""One writer at a time on the build database, and the holder named.

DuckDB allows one writing process per file, and a reader of a file being written fails.
Every step that touches the build database (the ingest, `dbt build`, the quality checks,
the publish step) holds this lock, and `make run` holds it for its whole run: a second
run waits for it (up to `EDUAID_LOCK_WAIT_SECONDS`), then fails with a message that names
the holder (process, run, since when), never with a DuckDB lock error. The lock is an
advisory `flock` on `<warehouse>/.build.lock`: the operating system releases it when its
process ends, so a killed run never leaves a stale lock. Re-entrant within a process.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from orchestration.settings import Settings

LOCK_FILE = ".build.lock"
_depth = [0]  # how deep this process holds the lock (0: not)


class BuildDatabaseBusy(RuntimeError):
    """Another run held the build database for longer than this run would wait."""


def holder(settings: Settings) -> dict | None:
    """Who holds (or last held) the lock, as it wrote itself into the lock file."""
    path = settings.warehouse / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return json.loads(text) if text else None


@contextmanager
def build_lock(
    settings: Settings, run_id: str | None, what: str, wait_seconds: float | None = None
) -> Iterator[None]:
    """Hold the build database for `what` (a step or a whole run) of `run_id`."""
    if _depth[0]:  # this process holds it already (make run, then its steps)
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    wait = settings.lock_wait_seconds if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait
    with open(settings.warehouse / LOCK_FILE, "a+", encoding="utf-8") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    other = holder(settings) or {}
                    raise BuildDatabaseBusy(
                        f"构建库正被其他运行占用 / the build database {settings.build_db} is "
                        f"held by {other.get('what', 'another run')} of run "
                        f"{other.get('run_id')} (process {other.get('pid')}, since "
                        f"{other.get('since')}); waited {wait:.0f} s"
                    ) from None
                time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "run_id": run_id,
                    "what": what,
                    "since": datetime.now().isoformat(timespec="seconds"),
                }
            )
        )
        fh.flush()
        _depth[0] = 1
        try:
            yield
        finally:
            _depth[0] = 0
            fcntl.flock(fh, fcntl.LOCK_UN)
