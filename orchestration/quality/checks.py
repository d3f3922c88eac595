"""The suites of `expectations/` as Dagster asset checks, one per `Check`.

Each runs its suite on the build database, keeps the results (history, Data Docs) under
the Dagster run's id, and fails with ERROR severity when a critical expectation failed
(WARN when only warnings did). The checks are blocking: a failed input check stops the
dbt build downstream, a failed mart check stops the publish step. The publish step
does not rely on that alone: it reads this run's results back and decides itself.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)
from dagster import MetadataValue as MV

from orchestration.ingest.assets import BUILD_DB_POOL
from orchestration.lock import build_lock
from orchestration.quality.gate import run_check
from orchestration.quality.runner import CheckResult, describe
from orchestration.quality.suites import Check, discover
from orchestration.settings import get_settings


def check_result(check: Check, results: list[CheckResult]) -> AssetCheckResult:
    failed = [r for r in results if not r.success]
    critical = [r for r in failed if r.blocks]
    icon = {"passed": "✅", "blocked": "❌", "warned": "⚠️", "not_applicable": "➖"}
    lines = [f"| {icon[r.decision]} | {r.severity} | {describe(r)} |" for r in results]
    return AssetCheckResult(
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if critical else AssetCheckSeverity.WARN,
        description=(
            "; ".join(f"{r.severity} {describe(r)}" for r in failed)
            or f"all {len(results)} expectations passed"
        ),
        metadata={
            "suite": f"expectations/{check.suite}.json",
            "expectations": len(results),
            "failed_critical": len(critical),
            "failed_warning": len(failed) - len(critical),
            "not_applicable": sum(not r.applicable for r in results),
            "results": MV.md("| | severity | expectation |\n|---|---|---|\n" + "\n".join(lines)),
        },
    )


def build_check(check: Check) -> AssetChecksDefinition:
    @asset_check(
        asset=AssetKey(list(check.asset_key)),
        name=check.name,
        description=f"Great Expectations suite expectations/{check.suite}.json on {check.table}",
        blocking=True,
        pool=BUILD_DB_POOL,
    )
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        settings, run_id = get_settings(), context.op_execution_context.run_id
        with build_lock(settings, run_id, f"the check {check.name}"):
            return check_result(check, run_check(settings, check, run_id))

    return _check


quality_checks = [build_check(check) for check in discover()]
