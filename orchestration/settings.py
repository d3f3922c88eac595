"""Settings, read from the environment in this one place.

Values are read when `get_settings()` is called (not at import), so that tests and
tools can point the pipeline elsewhere by setting environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
KEEP_RUN_DOCS = 20
SCHEDULE_CRON = "0 2 5 * *"  # monthly, on the 5th at 02:00: the exports of the month are in
SCHEDULE_TIMEZONE = "Asia/Shanghai"
SENSOR_INTERVAL_SECONDS = 30
SETTLE_SECONDS = 10.0  # a file younger than this may still be being copied
LOCK_WAIT_SECONDS = 1800.0
ANALYST_ROLE = "eduaid_analyst"
AUDITOR_ROLE = "eduaid_auditor"
POSTGRES_LOCK_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    build_db: Path
    truth: Path
    key_file: Path
    # Data Docs sites and GX stores of this many latest runs are kept under reports/
    keep_run_docs: int = KEEP_RUN_DOCS
    # Dagster: run history (make ui, make run), the schedule, the landing sensor
    dagster_home: Path = Path("warehouse/dagster_home")
    schedule_cron: str = SCHEDULE_CRON
    schedule_timezone: str = SCHEDULE_TIMEZONE
    sensor_interval_seconds: int = SENSOR_INTERVAL_SECONDS
    settle_seconds: float = SETTLE_SECONDS
    # how long a run waits for another run's hold on the build database before failing
    lock_wait_seconds: float = LOCK_WAIT_SECONDS
    # optional PostgreSQL publish target (None: the DuckDB files only); the URL may hold a
    # password, so it stays out of repr
    publish_postgres_url: str | None = field(default=None, repr=False)
    publish_postgres_analyst_role: str = ANALYST_ROLE  # reads schema marts
    publish_postgres_auditor_role: str = AUDITOR_ROLE  # reads marts and audit
    # how long the swap waits for readers holding the old tables before the publish fails
    publish_postgres_lock_timeout_seconds: float = POSTGRES_LOCK_TIMEOUT_SECONDS


def get_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    warehouse = Path(env.get("EDUAID_WAREHOUSE") or "warehouse")
    return Settings(
        landing=Path(env.get("EDUAID_LANDING") or "data/landing"),
        warehouse=warehouse,
        build_db=Path(env.get("EDUAID_BUILD_DB") or warehouse / "build.duckdb"),
        truth=Path(env.get("EDUAID_TRUTH") or "data/truth"),
        key_file=Path(env.get("EDUAID_KEY_FILE") or warehouse.parent / ".eduaid_key"),
        keep_run_docs=int(env.get("EDUAID_KEEP_RUN_DOCS") or KEEP_RUN_DOCS),
        dagster_home=Path(env.get("DAGSTER_HOME") or warehouse / "dagster_home"),
        schedule_cron=env.get("EDUAID_SCHEDULE_CRON") or SCHEDULE_CRON,
        schedule_timezone=env.get("EDUAID_SCHEDULE_TIMEZONE") or SCHEDULE_TIMEZONE,
        sensor_interval_seconds=int(
            env.get("EDUAID_SENSOR_INTERVAL_SECONDS") or SENSOR_INTERVAL_SECONDS
        ),
        settle_seconds=float(env.get("EDUAID_SETTLE_SECONDS") or SETTLE_SECONDS),
        lock_wait_seconds=float(env.get("EDUAID_LOCK_WAIT_SECONDS") or LOCK_WAIT_SECONDS),
        publish_postgres_url=env.get("EDUAID_PUBLISH_POSTGRES_URL") or None,
        publish_postgres_analyst_role=env.get("EDUAID_PUBLISH_POSTGRES_ANALYST_ROLE")
        or ANALYST_ROLE,
        publish_postgres_auditor_role=env.get("EDUAID_PUBLISH_POSTGRES_AUDITOR_ROLE")
        or AUDITOR_ROLE,
        publish_postgres_lock_timeout_seconds=float(
            env.get("EDUAID_PUBLISH_POSTGRES_LOCK_TIMEOUT_SECONDS") or POSTGRES_LOCK_TIMEOUT_SECONDS
        ),
    )


def dbt_project_yml() -> dict[str, Any]:
    """dbt_project.yml as written: the project's name and vars, for the Python that needs
    them without a manifest at hand (the quality thresholds, the build state)."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
