"""The pipeline job and what starts it (sensor, schedule); the landing folder's scan.

`defs` loads lazily: it depends on the dbt assets, whose loading parses the dbt project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import Definitions

    defs: Definitions


def __getattr__(name: str) -> Any:
    if name == "defs":
        from orchestration.pipeline.definitions import defs

        globals()["defs"] = defs
        return defs
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
