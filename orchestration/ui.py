"""`make ui`: the Dagster webserver and daemon on localhost, with the project's definitions.

Run history, schedules' and sensors' state live in `DAGSTER_HOME` (default
`<warehouse>/dagster_home`, so they survive restarts); the daemon runs the landing sensor,
the monthly schedule and the run queue (one run at a time). `EDUAID_UI_PORT` (3000) and
`EDUAID_UI_HOST` (127.0.0.1) say where.
"""

from __future__ import annotations

import os
import sys

from orchestration.dbt.keys import ensure_key
from orchestration.pipeline.instance import ensure_dagster_home
from orchestration.settings import get_settings


def main() -> int:
    settings = get_settings()
    home = ensure_dagster_home(settings)
    ensure_key(settings)
    host = os.environ.get("EDUAID_UI_HOST", "127.0.0.1")
    port = os.environ.get("EDUAID_UI_PORT", "3000")
    print(f"Dagster UI: http://{host}:{port}  (DAGSTER_HOME={home})", flush=True)
    print(f"landing folder watched by landing_sensor: {settings.landing.resolve()}", flush=True)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    bin_dir = os.path.dirname(sys.executable)
    args = ["dagster", "dev", "-m", "orchestration.definitions", "-h", host, "-p", port]
    os.execvpe(os.path.join(bin_dir, "dagster"), args, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
