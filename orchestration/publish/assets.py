"""The publish step as a Dagster asset, downstream of every mart (and so of their checks)."""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, asset
from dagster import MetadataValue as MV

from orchestration.dbt.assets import eduaid_dbt
from orchestration.ingest.assets import BUILD_DB_POOL
from orchestration.lock import build_lock
from orchestration.publish.publisher import PublishBlocked, PublishError
from orchestration.publish.step import publish_run
from orchestration.settings import get_settings

PUBLISHED_KEY = AssetKey(["warehouse", "published"])
# every model the publish step copies: the marts, and the restricted re-identified findings
PUBLISHED_FROM = sorted(
    (key for key in eduaid_dbt.keys if key.path[0] in ("marts", "restricted")),
    key=lambda key: key.to_user_string(),
)


@asset(
    key=PUBLISHED_KEY,
    deps=PUBLISHED_FROM,
    group_name="publish",
    kinds={"duckdb"},
    pool=BUILD_DB_POOL,
    description=(
        "<warehouse>/analytics.duckdb (pseudonymous marts) and audit.duckdb (findings with "
        "real IDs and names), replaced atomically, only when this run's quality gate passed; "
        "then the auditors' workbook in <warehouse>/reports/. With "
        "EDUAID_PUBLISH_POSTGRES_URL set, the same tables also in PostgreSQL (schemas marts, "
        "audit), swapped in one transaction."
    ),
)
def published_warehouse(context: AssetExecutionContext) -> MaterializeResult:
    settings = get_settings()
    try:
        with build_lock(settings, context.run.run_id, "the publish step"):
            published = publish_run(settings, context.run.run_id)
    except (PublishBlocked, PublishError) as blocked:
        raise Failure(
            description=str(blocked),
            metadata={"gate": "blocked", "data_docs": _data_docs(settings, context.run.run_id)},
            allow_retries=False,
        ) from blocked
    metadata = {
        "gate": "passed",
        "data_docs": _data_docs(settings, context.run.run_id),
        "analytics": MV.path(str(published.analytics)),
        "audit": MV.path(str(published.audit)),
        "tables": MV.json(published.tables),
        "findings": published.findings,
        "finding_payment_lines": published.payment_lines,
    }
    if published.postgres:
        # where (user@host:port/db, never the password) and the rows of each table served
        metadata["postgres"] = published.postgres
        metadata["postgres_tables"] = MV.json(published.postgres_tables)
    return MaterializeResult(metadata=metadata)


def _data_docs(settings, run_id: str):
    """The run's Great Expectations Data Docs site, where engineers look for the reasons."""
    from orchestration.quality.gate import reports_dir
    from orchestration.quality.runner import RunDocs

    return MV.url(RunDocs(reports_dir(settings), run_id).index.resolve().as_uri())
