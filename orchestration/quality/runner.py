"""Load a suite from `expectations/` and validate a DuckDB table in place with it.

The queries run in DuckDB (GX's SQL engine, made to work by `gx_duckdb`): only
aggregates and a few example rows come back, never the table. A result with
nothing observed (no observed value and no unexpected count) is a failure.

Three rules decide between a block and a warning (README, "How the gate decides"):
- a share threshold (`mostly`) blocks only with enough evidence: when the one-sided
  Wilson bound of the good share, at `evidence_confidence`, is still below the
  threshold (1 bad ID among 11 lines warns; a column of garbage blocks);
- an expectation that needs history (`meta.needs: "history"`: the row count against
  the previous load or publish) is not applicable without it, and a suite may state
  when it applies at all (`meta.applies_when`: a query that says whether, and why not);
- on an empty table, the column expectations have nothing to judge: not applicable
  (whether the table may be empty is its row-count expectation's to say).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import great_expectations as gx
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
ROW_COUNT = "expect_table_row_count_to_be_between"
EMPTY_TABLE = "表为空，没有可检查的值 / the table is empty: nothing to judge"
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
    applicable: bool = True  # False: not judged (no history, an empty table), never a failure
    note: str | None = None  # why it was not applicable, or why a failure only warns
    needs_history: bool = False  # the row count against the previous load or publish

    @property
    def blocks(self) -> bool:
        return self.applicable and self.severity == "critical" and not self.success

    @property
    def decision(self) -> str:
        """passed | blocked | warned | not_applicable"""
        if not self.applicable:
            return "not_applicable"
        if self.success:
            return "passed"
        return "blocked" if self.blocks else "warned"


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
    no_history: str | None = None,
) -> list[CheckResult]:
    """Validate `table` ("schema.table" or "table") of a DuckDB file, opened read-only.

    `query` replaces `select * from table` (a check column computed by a join, say);
    `name` is the validation's name (default: the suite's); `parameters` override the
    thresholds of `orchestration.quality.thresholds`; with `docs`, the results are kept
    and rendered into the run's Data Docs site. `no_history` says why there is nothing
    to compare with (no previous load or publish): the expectations that need history
    are then not applicable.
    """
    values = {**default_parameters(), **(parameters or {})}
    if isinstance(suite, str):
        suite = load_suite(suite, parameters=values)
    if name:
        suite = gx.ExpectationSuite(name=name, meta=suite.meta, expectations=suite.expectations)
    # a query with CTEs is wrapped: GX takes a query only if it starts with SELECT
    sql = f"select * from ({query}) as checked" if query else f"select * from {_quoted(table)}"
    sql = with_parameters(sql, values)
    applies_when = suite.meta.get("applies_when")
    if applies_when:
        applies_when = {**applies_when, "query": with_parameters(applies_when["query"], values)}
    rows, not_applicable = _precheck(database_path, sql, applies_when)
    if not_applicable:
        return [
            CheckResult(c.type, c.kwargs.get("column"), _severity(c), True,
                        applicable=False, note=not_applicable)
            for c in (e.configuration for e in suite.expectations)
        ]  # fmt: skip
    return [
        _judged(_check_result(r), r, rows, no_history, values["evidence_z"])
        for r in _validate(database_path, table, suite, sql, docs)
    ]


def with_parameters(sql: str, values: Mapping[str, Any]) -> str:
    """A suite's SQL with each `{{name}}` replaced by the parameter's value (a number)."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: repr(float(values[m[1]])), sql)


def _precheck(
    database_path: str | Path, sql: str, applies_when: dict | None
) -> tuple[int, str | None]:
    """The checked relation's row count, and why the suite does not apply (None: it does)."""
    with duckdb.connect(str(database_path), read_only=True) as con:
        rows = con.execute(f"select count(*) from ({sql}) as counted").fetchone()[0]
        if applies_when and not con.execute(applies_when["query"]).fetchone()[0]:
            return rows, applies_when["reason"]
    return rows, None


def _severity(config: ExpectationConfiguration) -> str:
    return getattr(config.severity, "value", config.severity)


def wilson_upper(good: int, n: int, z: float) -> float:
    """One-sided Wilson score upper bound of a share of `good` in `n` (n > 0)."""
    p = good / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def _share(r: ExpectationValidationResult) -> tuple[int, int, float] | None:
    """(good values, values judged, `mostly`) of a failed share expectation, else None.
    Nulls are judged only by the not-null expectations (GX's `mostly` counts the rest)."""
    mostly = r.expectation_config.kwargs.get("mostly")
    result = r.result or {}
    if mostly is None or mostly >= 1 or result.get("unexpected_count") is None:
        return None
    n = result.get("element_count") or 0
    if r.expectation_config.type != "expect_column_values_to_not_be_null":
        n -= result.get("missing_count") or 0
    return (n - result["unexpected_count"], n, mostly) if n > 0 else None


def _judged(
    c: CheckResult, r: ExpectationValidationResult, rows: int, no_history: str | None, z: float
) -> CheckResult:
    """The three rules of the module docstring applied to GX's verdict."""
    if c.needs_history and no_history:
        return replace(c, applicable=False, success=True, note=no_history)
    if rows == 0 and c.column is not None and c.problem == NOTHING_OBSERVED:
        return replace(c, applicable=False, problem=None, success=True, note=EMPTY_TABLE)
    share = _share(r)
    if c.success or c.severity != "critical" or share is None:
        return c
    good, n, mostly = share
    upper = wilson_upper(good, n, z)
    if upper < mostly:
        return c
    return replace(
        c,
        severity="warning",
        note=(
            f"证据不足以判定为系统性问题：{good}/{n} 合格，置信上限 {upper:.3f} ≥ 阈值 {mostly} / "
            f"not enough evidence of a systemic problem: {good} of {n} good, upper bound "
            f"{upper:.3f} >= {mostly}"
        ),
    )


def _validate(
    database_path: str | Path, table: str, suite: gx.ExpectationSuite, sql: str, docs
) -> list[ExpectationValidationResult]:
    row_ids = list(suite.meta.get("row_id_columns", []))
    context = ephemeral_context(docs)
    source = context.data_sources.add_duckdb_sqlalchemy(
        name="duckdb",
        connection_string=f"duckdb:///{Path(database_path).resolve()}",
        kwargs={"connect_args": {"read_only": True}},
    )
    try:
        # a query asset, not a table asset: see "second gap" in gx_duckdb
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
                # the results are kept in the run's stores; the site is built once per run
                # (build_docs): rebuilding it after each check cost 0.6 s a check
                actions=[],
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
    return list(validation.results)


def build_docs(docs: RunDocs) -> Path | None:
    """The run's Data Docs site, from every result its checks kept (None: none kept)."""
    if not docs.stores.exists():
        return None
    ephemeral_context(docs).build_data_docs()
    return docs.index


def carry_docs(docs: RunDocs, name: str, validated: RunDocs) -> None:
    """The stored suite and results of the check `name` from the run that validated it
    (`validated`) into this run's stores, so that its site shows them (under that run)."""
    for store, part in (
        ("validation_results_store", name),
        ("expectations_store", f"{name}.json"),
    ):
        source = validated.stores / store / part
        if source.is_dir():
            shutil.copytree(source, docs.stores / store / part, dirs_exist_ok=True)
        elif source.exists():
            (docs.stores / store).mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, docs.stores / store / part)


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
    if r.note:
        parts.append(r.note)
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
        severity=_severity(config),
        success=bool(r.success) and problem is None,
        observed_value=observed,
        unexpected_count=unexpected,
        examples=examples[:EXAMPLES],
        problem=problem,
        needs_history=(config.meta or {}).get("needs") == "history",
    )


def against_new_history(
    results: list[CheckResult], bounds: Mapping[str, Any], no_history: str | None
) -> list[CheckResult] | None:
    """Results computed on a table that has not changed since, judged again against this
    run's row-count bounds (which follow the previous load or publish, and so move while
    the table stands still): the same observed count, within `row_count_min` and
    `row_count_max` as GX judges it, or not applicable without history. None when a
    result that needs history is not a row count (it must be validated again)."""
    judged = []
    for r in results:
        if not r.needs_history:
            judged.append(r)
        elif r.expectation != ROW_COUNT or not isinstance(r.observed_value, int):
            return None
        elif no_history:
            judged.append(replace(r, applicable=False, success=True, note=no_history))
        else:
            low, high = bounds.get("row_count_min", 0), bounds.get("row_count_max")
            ok = low <= r.observed_value and (high is None or r.observed_value <= high)
            judged.append(replace(r, applicable=True, success=ok, note=None))
    return judged


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
