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
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.expectation_validation_result import (
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
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


def load_suite(
    name: str,
    directory: Path = EXPECTATIONS_DIR,
    parameters: Mapping[str, Any] | None = None,
) -> gx.ExpectationSuite:
    """`expectations/<name>.json`, a GX suite in which every expectation states its severity.

    Every `{"$PARAMETER": "<name>"}` in it (a threshold, a tolerance, a reference set) is
    replaced by its value from `orchestration.quality.thresholds`, overridden by
    `parameters`: also where GX itself takes no parameter (`mostly`).
    """
    path = directory / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for exp in data["expectations"]:
        if exp.get("severity") not in SEVERITIES:
            raise ValueError(f"{path}: {exp['type']} must state severity, one of {SEVERITIES}")
    values = {**default_parameters(), **(parameters or {})}
    expectations = _substituted(data["expectations"], values, path)
    meta = dict(data.get("meta", {}))
    if isinstance(meta.get("notes"), str):  # Data Docs renders notes given as {format, content}
        meta["notes"] = {"format": "markdown", "content": [meta["notes"]]}
    return gx.ExpectationSuite(
        name=data["name"],
        meta=meta,
        expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in expectations],
    )


def _substituted(value: Any, parameters: Mapping[str, Any], path: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in parameters:
                raise ValueError(f"{path}: no value for parameter {name!r}")
            return parameters[name]
        return {k: _substituted(v, parameters, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, parameters, path) for v in value]
    return value


@dataclass(frozen=True)
class RunDocs:
    """Where one run's validation results and Data Docs site are written.

    Every suite of the run adds its results to the run's stores, so that the site
    (`<reports>/data_docs/<run_id>/index.html`) lists all of them.
    """

    reports: Path
    run_id: str

    @property
    def site(self) -> Path:
        return self.reports / "data_docs" / self.run_id

    @property
    def stores(self) -> Path:
        return self.reports / "gx_results" / self.run_id

    @property
    def index(self) -> Path:
        return self.site / "index.html"


def run_suite(
    database_path: str | Path,
    table: str,
    suite: gx.ExpectationSuite | str,
    parameters: Mapping[str, Any] | None = None,
    *,
    query: str | None = None,
    name: str | None = None,
    docs: RunDocs | None = None,
) -> list[CheckResult]:
    """Validate `table` ("schema.table" or "table") of a DuckDB file, opened read-only.

    `query` replaces `select * from table` (a check column computed by a join, say);
    `name` is the validation's name (default: the suite's); `parameters` override the
    thresholds of `orchestration.quality.thresholds`; with `docs`, the results are kept
    and rendered into the run's Data Docs site.
    """
    if isinstance(suite, str):
        suite = load_suite(suite, parameters=parameters)
    if name:
        suite = gx.ExpectationSuite(name=name, meta=suite.meta, expectations=suite.expectations)
    row_ids = list(suite.meta.get("row_id_columns", []))
    context = ephemeral_context(docs)
    source = context.data_sources.add_duckdb_sqlalchemy(
        name="duckdb",
        connection_string=f"duckdb:///{Path(database_path).resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        # a query asset, not a table asset: see "second gap" in gx_duckdb
        # GX takes a query only if it starts with SELECT: a query with CTEs is wrapped
        sql = f"select * from ({query}) as checked" if query else f"select * from {_quoted(table)}"
        asset = source.add_query_asset(name=table, query=sql)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=suite.name,
                data=asset.add_batch_definition_whole_table("whole table"),
                suite=context.suites.add_or_update(suite),
            )
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=suite.name,
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="data_docs")] if docs else [],
                result_format={
                    "result_format": "SUMMARY",  # never COMPLETE: that fetches every bad row
                    "partial_unexpected_count": EXAMPLES,
                    "unexpected_index_column_names": row_ids,
                },
            )
        )
        run = checkpoint.run(run_id=RunIdentifier(run_name=docs.run_id) if docs else None)
    finally:
        source.get_execution_engine().close()
        source.get_engine().dispose()
    (validation,) = run.run_results.values()
    return [_check_result(r) for r in validation.results]


def ephemeral_context(docs: RunDocs | None = None):
    """A GX context in memory (no project folder, analytics or progress bars); with
    `docs`, validation results and suites go to the run's stores and its Data Docs site."""
    defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    stores = dict(defaults.stores)
    sites = {}
    if docs:
        for store, class_name in (
            (defaults.validation_results_store_name, "ValidationResultsStore"),
            (defaults.expectations_store_name, "ExpectationsStore"),
        ):
            stores[store] = {
                "class_name": class_name,
                "store_backend": _filesystem(docs.stores / store),
            }
        sites["eduaid"] = {
            "class_name": "SiteBuilder",
            "store_backend": _filesystem(docs.site),
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            stores=stores,
            expectations_store_name=defaults.expectations_store_name,
            validation_results_store_name=defaults.validation_results_store_name,
            checkpoint_store_name=defaults.checkpoint_store_name,
            data_docs_sites=sites,
        ),
    )


def _filesystem(directory: Path) -> dict[str, str]:
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory.resolve())}


def describe(r: CheckResult) -> str:
    """One line for a person: what was expected, where, what was observed."""
    parts = [r.expectation + (f" on {r.column}" if r.column else "")]
    if r.observed_value is not None:
        parts.append(f"observed {r.observed_value!r}")
    if r.unexpected_count is not None:
        parts.append(f"unexpected {r.unexpected_count}")
    if r.problem:
        parts.append(f"problem: {r.problem}")
    if r.examples:
        parts.append(f"e.g. {r.examples[:3]}")
    return ", ".join(parts)


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
