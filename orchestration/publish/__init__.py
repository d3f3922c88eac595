"""Publishing: the quality gate's verdict, then the analysts' and auditors' databases.

`defs` (the publish step as a Dagster asset) loads lazily: it depends on the dbt assets,
whose loading parses the dbt project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.publish.publisher import PublishBlocked, PublishError, PublishResult, publish

if TYPE_CHECKING:
    from dagster import Definitions

    defs: Definitions

__all__ = ["PublishBlocked", "PublishError", "PublishResult", "publish"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from dagster import Definitions

        from orchestration.publish.assets import published_warehouse

        value = Definitions(assets=[published_warehouse])
        globals()["defs"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
