"""One raw asset per source: every file of `<landing>/<source>/` into `raw.<source>`."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Backoff,
    MaterializeResult,
    RetryPolicy,
    asset,
)
from dagster import MetadataValue as MV

from orchestration.ingest.loader import load_landing
from orchestration.ingest.reading import SOURCES
from orchestration.lock import build_lock
from orchestration.settings import get_settings

# One writer at a time on the DuckDB file; deployments may cap this pool at 1.
BUILD_DB_POOL = "eduaid_build_db"
# A transient failure (the build database held too long by another run, a file system
# hiccup) is retried; a bad file never is: it is rejected with its reason, not raised.
INGEST_RETRY = RetryPolicy(max_retries=2, delay=15, backoff=Backoff.EXPONENTIAL)


def raw_asset_key(source: str) -> AssetKey:
    """`raw/<source>`: the key dagster-dbt gives the dbt source `raw.<source>`."""
    return AssetKey(["raw", source])


def build_raw_asset(source: str) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(source),
        group_name="raw",
        kinds={"duckdb", "python"},
        pool=BUILD_DB_POOL,
        retry_policy=INGEST_RETRY,
        description=(
            f"Every file of <landing>/{source}/ loaded as text into raw.{source}, with lineage; "
            "files recorded in raw.load_manifest, unloadable rows in raw.quarantine."
        ),
    )
    def _raw(context: AssetExecutionContext) -> MaterializeResult:
        settings = get_settings()
        with build_lock(settings, context.run.run_id, f"the ingest of {source}"):
            summary = load_landing(settings.landing, settings.build_db, sources=[source])
        rejected = summary.by_status("rejected")
        for result in rejected:
            context.log.warning(f"rejected {source}/{result.file_name}: {result.error}")
        unreconciled = [f.file_name for f in summary.files if f.is_total_reconciled is False]
        return MaterializeResult(
            metadata={
                "files": len(summary.files),
                "files_loaded": len(summary.by_status("loaded")),
                "files_already_loaded": len(summary.by_status("already_loaded")),
                "files_rejected": len(rejected),
                "rows_loaded": summary.rows_loaded(),
                "rows_quarantined": summary.rows_quarantined(),
                "rejected": MV.md("\n".join(f"- {f.error}" for f in rejected) or "none"),
                "unreconciled_totals": MV.json(unreconciled),
                "build_db": MV.path(str(settings.build_db)),
                "seconds": round(summary.seconds, 3),
            }
        )

    return _raw


raw_assets = [build_raw_asset(source) for source in SOURCES]
