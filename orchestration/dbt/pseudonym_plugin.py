"""dbt-duckdb plugin: the scalar UDF `eduaid_pseudonym(varchar) -> varchar`.

Registered on every connection dbt opens (dbt_project/profiles.yml, `plugins:`). It is
the lowercase hex HMAC-SHA256 of its argument under the pseudonym key (see keys.py);
null in, null out. Models call it through the macro `person_key(x)`.

Light on purpose: importing this module (and its package, whose `defs` load lazily)
does not import Dagster.

The UDF is vectorised (DuckDB `type="arrow"`): one Python call per chunk of 2,048
values instead of one per value. The HMAC itself is still computed per value in
Python, from a copy of a keyed HMAC object (the key is hashed once): about 1.6 µs a
value, so ~0.1 s for a county's 60,000 persons and ~20 s for a province's 10 million.

Without a key the function is still registered, so that `dbt parse`, `compile` and
sqlfluff work; calling it then fails with the error of keys.load_key, which names
the environment variables to set.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

from orchestration.dbt.keys import PseudonymKeyError, load_key

FUNCTION_NAME = "eduaid_pseudonym"


def pseudonym(value: str | None, key: bytes | str) -> str | None:
    """Lowercase hex HMAC-SHA256 of the UTF-8 bytes of `value` under `key`; None for None."""
    if value is None:
        return None
    if isinstance(key, str):
        key = key.encode("utf-8")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _arrow_pseudonym(key: bytes):
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def eduaid_pseudonym(values: pa.ChunkedArray) -> pa.Array:
        out: list[str | None] = []
        append = out.append
        for value in values.to_pylist():
            if value is None:
                append(None)
            else:
                mac = keyed.copy()
                mac.update(value.encode("utf-8"))
                append(mac.hexdigest())
        return pa.array(out, type=pa.string())

    return eduaid_pseudonym


def _missing_key(error: PseudonymKeyError):
    def eduaid_pseudonym(values: pa.ChunkedArray) -> pa.Array:
        raise PseudonymKeyError(str(error))

    return eduaid_pseudonym


def register(conn: DuckDBPyConnection, key: bytes | None = None) -> None:
    """Create `eduaid_pseudonym` on a DuckDB connection (key from the environment by default)."""
    if key is None:
        try:
            function = _arrow_pseudonym(load_key())
        except PseudonymKeyError as error:
            function = _missing_key(error)
    else:
        function = _arrow_pseudonym(key)
    conn.create_function(
        FUNCTION_NAME, function, [VARCHAR], VARCHAR, type="arrow", side_effects=False
    )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = plugin_config

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn)
