"""The data-quality gate: Great Expectations suites from `expectations/`, run on DuckDB."""

from orchestration.quality.runner import (
    NOTHING_OBSERVED,
    CheckResult,
    blocking,
    load_suite,
    run_suite,
)

__all__ = ["NOTHING_OBSERVED", "CheckResult", "blocking", "load_suite", "run_suite"]
