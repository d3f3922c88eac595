"""The quality gate of one pipeline run: every check, its results kept and rendered.

`run_check` is what a Dagster asset check calls (and `run_gate` runs them all, for a
run without Dagster): the row-count bounds come from the previous load or publish in
the results history, the results go into the history and the run's Data Docs site.
`gate_of_run` is what the publish step reads back: the results of every check of this
run, so that a check that did not run at all also blocks.
"""

from __future__ import annotations

from orchestration.quality.history import History
from orchestration.quality.runner import CheckResult, RunDocs, run_suite
from orchestration.quality.suites import Check, discover
from orchestration.quality.thresholds import parameters, row_count_bounds
from orchestration.settings import Settings

MISSING = "check did not run"


def reports_dir(settings: Settings):
    return settings.warehouse / "reports"


def run_check(settings: Settings, check: Check, run_id: str) -> list[CheckResult]:
    history = History(reports_dir(settings))
    values = parameters()
    bounds, no_history = row_count_bounds(
        history.previous_row_count(check, run_id),
        values["row_count_tolerance"],
        values["row_count_min_baseline"],
    )
    results = run_suite(
        settings.build_db,
        check.table,
        check.suite,
        bounds,
        query=check.query,
        name=check.name,
        docs=RunDocs(reports_dir(settings), run_id),
        no_history=no_history,
    )
    history.record(run_id, check, results)
    return results


def run_gate(
    settings: Settings, run_id: str, checks: list[Check] | None = None
) -> dict[str, list[CheckResult]]:
    return {
        check.name: run_check(settings, check, run_id)
        for check in (discover() if checks is None else checks)
    }


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
