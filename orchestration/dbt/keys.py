"""The HMAC key of person pseudonyms: where it is found, and a local one for the demo.

Light on purpose (standard library only): the dbt-duckdb plugin imports it inside the
dbt process, which must not pay for importing Dagster.

The key is the text of `EDUAID_PSEUDONYM_KEY` when set, else the text of the key file
(`EDUAID_KEY_FILE`, default `<warehouse>/../.eduaid_key`, see orchestration/settings.py),
leading and trailing whitespace stripped, as UTF-8 bytes. It never enters the repository.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from orchestration.settings import REPO_ROOT, Settings, get_settings

KEY_ENV = "EDUAID_PSEUDONYM_KEY"
KEY_FILE_ENV = "EDUAID_KEY_FILE"


class PseudonymKeyError(RuntimeError):
    """No usable pseudonym key."""


def key_file(settings: Settings | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The key file the settings name.

    With neither `EDUAID_KEY_FILE` nor `EDUAID_WAREHOUSE` set, the default key file is
    `<repo>/.eduaid_key` whatever the working directory (dbt runs in dbt_project/, and
    the profile's default database is likewise `<repo>/warehouse/build.duckdb`).
    """
    env = os.environ if env is None else env
    path = (settings or get_settings(dict(env))).key_file
    if not path.is_absolute() and not env.get(KEY_FILE_ENV) and not env.get("EDUAID_WAREHOUSE"):
        path = REPO_ROOT / path
    return path


def load_key(env: Mapping[str, str] | None = None) -> bytes:
    """The pseudonym key, or PseudonymKeyError naming the variables to set."""
    env = os.environ if env is None else env
    value = (env.get(KEY_ENV) or "").strip()
    if value:
        return value.encode("utf-8")
    path = key_file(env=env)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = ""
    if value:
        return value.encode("utf-8")
    raise PseudonymKeyError(
        f"no pseudonym key: set {KEY_ENV} to the key, or {KEY_FILE_ENV} to a file holding it "
        f"(looked for {path}, missing or empty); `make run` creates a local one for the demo"
    )


def ensure_key(settings: Settings | None = None) -> Path | None:
    """Create a random local key file (32 bytes as hex, mode 0600) when no key exists.

    Returns the path written, or None when `EDUAID_PSEUDONYM_KEY` is set or the key
    file already holds a key. For the demo only: a deployment provides its own key.
    """
    if (os.environ.get(KEY_ENV) or "").strip():
        return None
    path = key_file(settings)
    if path.exists() and path.read_text(encoding="utf-8").strip():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():  # empty: replace it
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path
