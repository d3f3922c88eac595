"""dbt-duckdb plugin: the money rule `eduaid_money_yuan(text)` on every connection dbt opens.

dbt_project/profiles.yml lists it under `plugins:`; the staging macro `parse_money_yuan`
calls the DuckDB macro, which is defined once in orchestration/money.py.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from orchestration import money


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        money.register(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # a temporary macro belongs to one connection, and dbt runs models on cursors
        money.register(cursor)
