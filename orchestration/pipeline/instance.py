"""The project's Dagster instance: `DAGSTER_HOME` (default `<warehouse>/dagster_home`).

`make run` and `make ui` share it, so that every run, whoever started it, is in the UI's
run history and survives restarts. Its `dagster.yaml` (written when missing) lets one run
at a time out of the queue and one step at a time into the build database's pool: DuckDB
allows one writer (the build lock, `orchestration/lock.py`, also covers runs started
outside this instance).
"""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance

from orchestration.settings import Settings

DAGSTER_YAML = """\
# eduaid: written by orchestration/pipeline/instance.py when missing; edit freely.
concurrency:
  runs:
    max_concurrent_runs: 1   # DuckDB: one writer on the build database
  pools:
    default_limit: 1
telemetry:
  enabled: false
nux:
  enabled: false   # no "join the community" dialog over the UI
"""


def ensure_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    if not (home / "history" / "runs.db").exists():
        # create the storage now, in one process: a daemon and its code server creating it
        # at once race on its schema migrations ("more than one head present")
        with DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs(limit=1)
    return home


def pipeline_instance(settings: Settings) -> DagsterInstance:
    return DagsterInstance.from_config(str(ensure_dagster_home(settings)))
