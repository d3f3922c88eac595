"""The one dbt project, and its manifest prepared when the definitions load."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

from orchestration.dbt.keys import KEY_FILE_ENV, key_file
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, SEEDS_DIR, get_settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt of this interpreter's environment (`make run` does not activate .venv)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def dbt_env() -> dict[str, str]:
    """The settings dbt reads, as absolute paths (dbt runs in dbt_project/)."""
    settings = get_settings()
    return {
        "EDUAID_BUILD_DB": str(settings.build_db.resolve()),
        KEY_FILE_ENV: str(key_file(settings).resolve()),
    }


@contextmanager
def dbt_environment() -> Iterator[None]:
    """The settings as absolute paths in the environment the dbt subprocess inherits.

    dbt runs in dbt_project/, so relative paths would mean something else there;
    DbtCliResource passes os.environ on and has no other way to add variables.
    """
    values = dbt_env()
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


PLUGIN_SOURCES = [
    REPO_ROOT / "orchestration" / "money.py",
    REPO_ROOT / "orchestration" / "dbt" / "pseudonym_plugin.py",
]


def _inputs(project: DbtProject) -> list[Path]:
    folders = [project.project_dir / name for name in ("models", "macros", "tests", "snapshots")]
    files = [project.project_dir / "dbt_project.yml", project.profiles_dir / "profiles.yml"]
    files += PLUGIN_SOURCES  # rules dbt runs from Python: a change rebuilds in full
    files += [p for folder in [*folders, SEEDS_DIR] if folder.exists() for p in folder.rglob("*")]
    return [p for p in files if p.is_file()]


def project_fingerprint(project: DbtProject = dbt_project) -> str:
    """The hash of everything dbt builds from (models, macros, tests, seeds, project and
    profile files): when it changes, incremental models are rebuilt in full."""
    digest = hashlib.sha256()
    for path in sorted(_inputs(project)):
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def manifest_is_stale(project: DbtProject = dbt_project) -> bool:
    """True when manifest.json is missing or older than a file dbt parses."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _inputs(project))


def prepare(project: DbtProject = dbt_project, force: bool = False) -> Path:
    """`dbt parse` when the manifest is missing or stale, or always under `dagster dev`
    (or when forced: a benchmark on another build database, whose profile differs from
    the last parse's, would otherwise parse the whole project in every dbt invocation).

    This is `DbtProject.prepare_if_dev()` extended to a fresh clone (no
    dbt_project/target) and to `make run` and the tests, which load the definitions
    outside `dagster dev`. dagster-dbt's own preparer runs `dbt` from PATH, which a
    non-activated `.venv/bin/python` does not have, so the parse runs here with the
    environment's dbt.
    """
    if force or using_dagster_dev() or manifest_is_stale(project):
        target = project.project_dir / project.target_path
        completed = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                *("--project-dir", str(project.project_dir)),
                *("--profiles-dir", str(project.profiles_dir)),
                *("--target-path", str(target)),
            ],
            cwd=project.project_dir,
            # The same profile as the build's, so that dbt build can parse partially
            # from this parse (dagster-dbt copies target/partial_parse.msgpack).
            env={**os.environ, **dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0 or not project.manifest_path.exists():
            raise RuntimeError(
                f"dbt parse failed in {project.project_dir} (exit {completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
    return project.manifest_path
