"""The quality gate of one pipeline run: every check, its results kept and rendered.

`run_check` is what a Dagster asset check calls (and `run_gate` runs them all, for a
run without Dagster): the row-count bounds come from the previous load or publish in
the results history, the results go into the history and the run's Data Docs site.
`gate_of_run` is what the publish step reads back: the results of every check of this
run, so that a check that did not run at all also blocks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestration.dbt.build_state import BuildState, model_id
from orchestration.quality import gx_duckdb, runner
from orchestration.quality.history import History
from orchestration.quality.runner import (
    EXPECTATIONS_DIR,
    CheckResult,
    RunDocs,
    against_new_history,
    build_docs,
    carry_docs,
    run_suite,
)
from orchestration.quality.suites import Check, discover
from orchestration.quality.thresholds import parameters, row_count_bounds
from orchestration.settings import Settings

MISSING = "check did not run"


def reports_dir(settings: Settings):
    return settings.warehouse / "reports"


def run_check(settings: Settings, check: Check, run_id: str) -> list[CheckResult]:
    """The check's results in this run: validated on the build database, or carried over
    from the run that validated the same tables (none rebuilt since) with the same suite,
    code and thresholds, the row count judged again against this run's bounds."""
    history = History(reports_dir(settings))
    docs = RunDocs(reports_dir(settings), run_id)
    values = parameters()
    bounds, no_history = row_count_bounds(
        history.previous_row_count(check, run_id),
        values["row_count_tolerance"],
        values["row_count_min_baseline"],
    )
    # the bounds are not in the basis: they move with each publish while a table stands
    # still, and a carried row count is judged against this run's (against_new_history)
    basis = check_basis(check, BuildState.read(settings.build_db), values)
    validated = history.validated(check, basis, run_id) if basis else None
    if validated:
        carried = against_new_history(
            history.results_of(validated).get(check.name, []), bounds, no_history
        )
        if carried:
            history.record(run_id, check, carried, basis, carried_from=validated)
            carry_docs(docs, check.name, RunDocs(reports_dir(settings), validated))
            return carried
    results = run_suite(
        settings.build_db,
        check.table,
        check.suite,
        bounds,
        query=check.query,
        name=check.name,
        docs=docs,
        no_history=no_history,
    )
    history.record(run_id, check, results, basis)
    return results


RELATION = re.compile(r"\b(?:raw|staging|intermediate|marts|restricted)\.(\w+)\b")
GATE_CODE = [Path(runner.__file__), Path(gx_duckdb.__file__), Path(__file__)]


def check_basis(check: Check, state: BuildState, settings: Mapping[str, Any]) -> str | None:
    """What a check's results follow from, but for the row-count bounds: the build (the
    run) of every table it reads, from dbt's build state, its suite, the gate's code and
    the thresholds. A run that rebuilt a table has a basis of its own; a run that rebuilt none of
    them has the basis of the run that did. None when a table it reads is not a dbt model
    with a recorded build (the ingest's tables): such a check is always validated."""
    builds = []
    for name in sorted(set(RELATION.findall(f"{check.table} {check.query or ''}"))):
        built = state.run_of(model_id(name))
        if built is None:
            return None
        builds.append(f"{name}@{built}")
    digest = hashlib.sha256(json.dumps([builds, settings], sort_keys=True, default=str).encode())
    for path in [EXPECTATIONS_DIR / f"{check.suite}.json", *GATE_CODE]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run_gate(
    settings: Settings, run_id: str, checks: list[Check] | None = None
) -> dict[str, list[CheckResult]]:
    """Every check (or those given) in one run, then the run's Data Docs site."""
    gate = {
        check.name: run_check(settings, check, run_id)
        for check in (discover() if checks is None else checks)
    }
    build_docs(RunDocs(reports_dir(settings), run_id))
    return gate


def gate_of_run(
    settings: Settings, run_id: str, checks: list[Check] | None = None
) -> dict[str, list[CheckResult]]:
    """check name -> its results in the run; a check of `expectations/` that has none
    gets one failed critical result saying so."""
    recorded = History(reports_dir(settings)).results_of(run_id)
    gate = {}
    for check in discover() if checks is None else checks:
        gate[check.name] = recorded.get(check.name) or [
            CheckResult(
                expectation="(the whole suite)",
                column=None,
                severity="critical",
                success=False,
                problem=MISSING,
            )
        ]
    return gate
