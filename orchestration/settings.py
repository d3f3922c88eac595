"""Settings, read from the environment in this one place.

Values are read when `get_settings()` is called (not at import), so that tests and
tools can point the pipeline elsewhere by setting environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"
KEEP_RUN_DOCS = 20


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path
    build_db: Path
    truth: Path
    key_file: Path
    # Data Docs sites and GX stores of this many latest runs are kept under reports/
    keep_run_docs: int = KEEP_RUN_DOCS


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
    )
