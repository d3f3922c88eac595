"""Load a suite from `expectations/` and validate a DuckDB table in place with it.

The queries run in DuckDB (GX's SQL engine, made to work by `gx_duckdb`): only
aggregates and a few example rows come back, never the table. A result with
nothing observed (no observed value and no unexpected count) is a failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from orchestration.quality import gx_duckdb  # noqa: F401  registers add_duckdb_sqlalchemy
from orchestration.quality.thresholds import parameters as default_parameters
from orchestration.settings import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("critical", "warning")
NOTHING_OBSERVED = "no metric computed"
EXAMPLES = 10  # example rows kept per failed expectation


@dataclass(frozen=True)
class CheckResult:
    expectation: str  # GX type, e.g. expect_column_values_to_be_unique
    column: str | None
    severity: str  # critical | warning
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)  # row ids of bad rows
    problem: str | None = None  # why nothing could be computed

    @property
    def blocks(self) -> bool:
        return self.severity == "critical" and not self.success


def load_suite(name: str, directory: Path = EXPECTATIONS_DIR) -> gx.ExpectationSuite:
    """`expectations/<name>.json`, a GX suite in which every expectation states its severity."""
    path = directory / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for exp in data["expectations"]:
        if exp.get("severity") not in SEVERITIES:
            raise ValueError(f"{path}: {exp['type']} must state severity, one of {SEVERITIES}")
    return gx.ExpectationSuite(
        name=data["name"],
        meta=data.get("meta", {}),
        expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in data["expectations"]],
    )


def run_suite(
    database_path: str | Path,
    table: str,
    suite: gx.ExpectationSuite | str,
    parameters: Mapping[str, Any] | None = None,
) -> list[CheckResult]:
    """Validate `table` ("schema.table" or "table") of a DuckDB file, opened read-only.

    `parameters` override the thresholds of `orchestration.quality.thresholds`.
    """
    if isinstance(suite, str):
        suite = load_suite(suite)
    row_ids = list(suite.meta.get("row_id_columns", []))
    source = ephemeral_context().data_sources.add_duckdb_sqlalchemy(
        name="duckdb",
        connection_string=f"duckdb:///{Path(database_path).resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        # a query asset, not a table asset: see "second gap" in gx_duckdb
        asset = source.add_query_asset(name=table, query=f"select * from {_quoted(table)}")
        batch = asset.add_batch_definition_whole_table("whole table").get_batch()
        validation = batch.validate(
            suite,
            result_format={
                "result_format": "SUMMARY",  # never COMPLETE: that fetches every bad row
                "partial_unexpected_count": EXAMPLES,
                "unexpected_index_column_names": row_ids,
            },
            expectation_parameters={**default_parameters(), **(parameters or {})},
        )
    finally:
        source.get_execution_engine().close()
        source.get_engine().dispose()
    return [_check_result(r) for r in validation.results]


def ephemeral_context():
    """A GX context in memory: no project folder, no analytics, no progress bars."""
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )


def blocking(results: list[CheckResult]) -> list[CheckResult]:
    """The failed critical expectations: any of them blocks publishing."""
    return [r for r in results if r.blocks]


def _quoted(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _check_result(r: ExpectationValidationResult) -> CheckResult:
    config = r.expectation_config
    result = r.result or {}
    observed = result.get("observed_value")
    unexpected = result.get("unexpected_count")
    problem = _exception_message(r.exception_info)
    if problem is None and observed is None and unexpected is None:
        problem = NOTHING_OBSERVED
    examples = result.get("partial_unexpected_index_list")
    if examples is None:
        examples = [{"value": v} for v in result.get("partial_unexpected_list", [])]
    return CheckResult(
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=getattr(config.severity, "value", config.severity),
        success=bool(r.success) and problem is None,
        observed_value=observed,
        unexpected_count=unexpected,
        examples=examples[:EXAMPLES],
        problem=problem,
    )


def _exception_message(info: dict | None) -> str | None:
    """GX puts one exception at the top, or one per failed metric."""
    if not info:
        return None
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(e.get("exception_message"))
        for e in entries
        if isinstance(e, dict) and e.get("raised_exception")
    ]
    return "; ".join(messages) or None
