"""The data-quality gate: Great Expectations suites from `expectations/`, run on DuckDB.

`defs` (the suites as Dagster asset checks) loads lazily, so that using the runner does
not import Dagster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestration.quality.runner import (
    NOTHING_OBSERVED,
    CheckResult,
    blocking,
    load_suite,
    run_suite,
)

if TYPE_CHECKING:
    from dagster import Definitions

    defs: Definitions

__all__ = ["NOTHING_OBSERVED", "CheckResult", "blocking", "load_suite", "run_suite"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from dagster import Definitions

        from orchestration.quality.checks import quality_checks

        value = Definitions(asset_checks=quality_checks)
        globals()["defs"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
