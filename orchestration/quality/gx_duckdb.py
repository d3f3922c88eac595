"""Great Expectations that really computes on DuckDB (through duckdb-engine).

The failure
-----------
With a stock `context.data_sources.add_sql(connection_string="duckdb:///...")`,
every expectation fails with an empty `result` ("Observed: N/A"): each metric
query raises `IndexError: list index out of range` inside
`SqlAlchemyExecutionEngine.resolve_metric_bundle`, which GX turns into a
`MetricResolutionError` tucked away in `exception_info`. Known upstream as
great_expectations issues #10738 ("Enable Duckdb sqlalchemy data source") and
#11579 ("resolve_metric_bundle raises IndexError with duckdb-engine (empty
results)"); both closed, the only pull request (#11635) merely replaced the
IndexError by a clearer error. Still so in GX 1.24.1 with duckdb-engine 0.17.0.

Root cause
----------
`SqlAlchemyExecutionEngine.execute_query` runs the query inside
`with self.get_connection() as connection:` and returns the *unread* result;
callers then call `.fetchall()` / `.scalar()` on it after the connection has been
closed. Closing a SQLAlchemy 2.x connection rolls back its (auto-begun)
transaction. Most DB-API drivers have buffered the rows in their cursor by then,
and sqlite, SQL Server, BigQuery and Databricks use one persisted connection in
GX. duckdb-engine's cursor is the DuckDB connection itself (it cannot have a
cursor of its own), so the ROLLBACK replaces the pending result and every fetch
returns no rows. Nothing is wrong with the SQL: run inside the `with` block, the
same query returns its row.

The fix
-------
`DuckDBExecutionEngine.execute_query` reads the result (`freeze()`) while the
connection is still open and hands back an equivalent buffered result. The
queries stay in DuckDB (aggregates and at most `partial_unexpected_count` example
rows come back, never the table). `DuckDBDatasource` is the GX fluent datasource
type `duckdb_sqlalchemy` (a `SQLDatasource` using that engine); importing this
module registers it, so `context.data_sources.add_duckdb_sqlalchemy(...)` exists.
`tests/quality/test_gx_duckdb.py::test_stock_gx_still_computes_nothing_on_duckdb`
tells when an upgrade of GX makes this unnecessary.

A second, smaller gap: SQLAlchemy >= 2.0.45 (we have 2.1) reflects columns through
`pg_catalog.pg_collation`, which DuckDB before 1.5 lacks (duckdb-engine issues
#1379 and #1391, fixed on DuckDB's side by duckdb PR #22160 for 1.5). GX then falls
back to `SELECT * FROM <table> LIMIT 1` *without the schema*, so a table asset of
`marts` fails. `run_suite` therefore validates a query asset
`select * from "schema"."table"`: GX wraps it as a subquery, still all in DuckDB.

Still unsupported by GX on DuckDB: regular expressions (the metric raises "Regex is not
supported for dialect duckdb"); `run_suite` reports such an expectation
as failed with that reason.
"""

from __future__ import annotations

from typing import Literal

from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """SqlAlchemyExecutionEngine whose results are read before the connection closes."""

    def execute_query(self, query):
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            if not result.returns_rows:
                return result
            return result.freeze()()


class DuckDBDatasource(SQLDatasource):
    """A DuckDB database file, through duckdb-engine, with the engine above."""

    type: Literal["duckdb_sqlalchemy"] = "duckdb_sqlalchemy"  # type: ignore[assignment]

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine
