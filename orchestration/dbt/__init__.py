"""dbt: the dbt project as Dagster assets (dagster-dbt), and the pseudonym UDF plugin.

`defs` loads lazily, so that dbt-duckdb can import `orchestration.dbt.pseudonym_plugin`
(and `keys`) in the dbt process without importing Dagster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import Definitions

    defs: Definitions


def __getattr__(name: str) -> Any:
    if name == "defs":
        from dagster import Definitions

        from orchestration.dbt.assets import dbt_resource, eduaid_dbt

        value = Definitions(assets=[eduaid_dbt], resources={"dbt": dbt_resource})
        globals()["defs"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
