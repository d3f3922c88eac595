"""dbt models, seeds and tests as Dagster assets, downstream of the raw assets."""

from collections.abc import Iterator, Mapping
from graphlib import TopologicalSorter
from typing import Any

from dagster import AssetDep, AssetExecutionContext, AssetKey, AssetSpec, Config, Output
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from pydantic import Field

from orchestration.dbt.build_state import BuildState, plan_build, source_digests
from orchestration.dbt.project import (
    dbt_environment,
    dbt_executable,
    dbt_project,
    prepare,
    project_fingerprint,
)
from orchestration.ingest.assets import BUILD_DB_POOL, raw_asset_key
from orchestration.ingest.reading import SOURCES
from orchestration.lock import build_lock
from orchestration.settings import get_settings

RAW_SOURCE = "raw"  # the dbt source of the ingest's tables (models/staging/_raw__sources.yml)
RAW_KEYS = [raw_asset_key(source) for source in SOURCES]
# Bookkeeping tables every raw asset writes to (one manifest row per file, sightings,
# quarantined lines). No single raw asset produces them, and mapping them onto one
# would both lie about lineage and collide with that source's key; left as external
# assets they would hang unconnected beside the ingest. So a model reading one of
# them depends on all six raw assets instead, which is exactly what produces them.
BOOKKEEPING_KEYS = {
    AssetKey([RAW_SOURCE, name]) for name in ("load_manifest", "file_sightings", "quarantine")
}


class EduaidDbtTranslator(DagsterDbtTranslator):
    """Groups by dbt folder; dbt source `raw.<source>` is the ingest's raw asset."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        props = dbt_resource_props
        if (
            props["resource_type"] == "source"
            and props["source_name"] == RAW_SOURCE
            and props["name"] in SOURCES
        ):
            return raw_asset_key(props["name"])
        # Models: [<schema>, <name>], i.e. staging/…, intermediate/…, marts/…;
        # seeds: reference/<name>.
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        props = dbt_resource_props
        if props["resource_type"] == "seed":
            return "reference"  # seeds/ at the repository root, schema reference
        fqn = props.get("fqn") or []
        # fqn = [project, <top folder under models/>, ..., name]
        if props["resource_type"] in ("model", "snapshot") and len(fqn) > 2:
            return fqn[1]
        return super().get_group_name(dbt_resource_props) or "dbt"

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not any(dep.asset_key in BOOKKEEPING_KEYS for dep in spec.deps):
            return spec
        deps = [dep for dep in spec.deps if dep.asset_key not in BOOKKEEPING_KEYS]
        have = {dep.asset_key for dep in deps}
        deps += [AssetDep(key) for key in RAW_KEYS if key not in have]
        return spec.replace_attributes(deps=deps)


UNIT_TESTS = "test_type:unit"


class DbtBuildConfig(Config):
    """Run configuration of the dbt assets (launchpad: ops.eduaid_dbt.config)."""

    exclude: str = Field(
        # dbt's unit tests check the SQL, not the data: they run in `make test` and CI
        # (tests/dbt), not in every production build (30 nodes, about 10 s a run)
        default=UNIT_TESTS,
        description="dbt selection left out of the build (default: the unit tests, which "
        "check the SQL and run in CI); empty to build everything",
    )
    full_refresh: bool = Field(
        default=False,
        description="build every selected node, the incremental (staging) models in full, "
        "even when neither the dbt project, a seed nor a source changed since the last build",
    )


dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


@dbt_assets(
    manifest=prepare(dbt_project),
    project=dbt_project,
    dagster_dbt_translator=EduaidDbtTranslator(),
    name="eduaid_dbt",
    pool=BUILD_DB_POOL,
)
def eduaid_dbt(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig):
    """`dbt build` (seeds, models, tests) of the selected nodes, one thread (one writer):
    all of them when the project changed, else what reads a source that changed
    (build_state.py); the others keep their tables and are reported unchanged."""
    settings, run_id = get_settings(), context.run.run_id
    selected = selected_nodes(context)
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    with build_lock(settings, run_id, "dbt build"), dbt_environment():
        project, sources = project_fingerprint(), source_digests(settings.build_db)
        state = BuildState.read(settings.build_db)
        plan = plan_build(state, manifest, selected, project, sources, config.full_refresh)
        context.log.info(f"dbt build, {plan.why}")
        # what the plan leaves alone is current: reported first (nothing it reads is rebuilt),
        # in dependency order, as Dagster wants a multi-asset's outputs
        kept = plan.kept
        yield from unchanged_outputs(context, manifest, {uid: selected[uid] for uid in kept}, state)
        built: set[str] = set()
        if plan.builds_anything(selected):
            args = ["build", "--threads", "1", *(["--full-refresh"] if plan.full else [])]
            # dbt unions several --select, and dagster-dbt adds the run's selection: what
            # the plan leaves alone is excluded instead (dbt unions the excludes too)
            exclude = [*config.exclude.split(), *(manifest["nodes"][uid]["name"] for uid in kept)]
            if exclude:
                args += ["--exclude", " ".join(exclude)]
            invocation = dbt.cli(args, context=context, raise_on_error=False)
            yield from invocation.stream()
            results = invocation.get_artifact("run_results.json")
            if not invocation.is_successful():
                # a failed test is a data problem the gate must name (grain, keys and
                # accepted values are dbt's): kept with this run's results, so the run
                # counts as blocked
                record_failed_tests(settings, run_id, results)
                raise invocation.get_error() or RuntimeError("dbt build failed")
            built = {r["unique_id"] for r in results.get("results", [])} & set(selected)
        # only after a build that raised nothing: a failed one is rebuilt in full next time
        state.after(selected, built, run_id, project, sources).write(settings.build_db)


UNIQUE_ID = "dagster_dbt/unique_id"  # dagster-dbt's metadata key of a node's asset spec


def selected_nodes(context: AssetExecutionContext) -> dict[str, AssetKey]:
    """dbt unique id -> asset key of every model and seed this run selected."""
    specs = context.assets_def.specs_by_key
    return {
        specs[key].metadata[UNIQUE_ID]: key
        for key in context.selected_asset_keys
        if UNIQUE_ID in specs[key].metadata
    }


def unchanged_outputs(
    context: AssetExecutionContext,
    manifest: Mapping[str, Any],
    kept: Mapping[str, AssetKey],
    state: BuildState,
) -> Iterator[Output]:
    """An output for every node the build leaves alone (none of its sources changed): its
    table is current, so the checks and the publish step downstream run."""
    order = TopologicalSorter(
        {uid: [p for p in manifest["parent_map"].get(uid, []) if p in kept] for uid in kept}
    ).static_order()
    for uid in order:
        yield Output(
            None,
            output_name=context.assets_def.get_output_name_for_asset_key(kept[uid]),
            metadata={
                "eduaid/unchanged_since_run": state.run_of(uid) or "",
                "eduaid/why": "none of the sources it reads changed: its table is kept",
            },
        )


DBT_TESTS_CHECK = "dbt_tests"  # the results history's name for dbt's failed tests of a run


def record_failed_tests(settings, run_id: str, run_results: Mapping[str, Any]) -> None:
    """Every dbt test that failed (or could not run) in a build, as a failed critical result
    of the run in the results history (quality/history.py), so the run's outcome is
    "blocked", with the test named, like a failed expectation. A model that failed to build
    is not a data problem and is not recorded: the run is then broken, not blocked."""
    from orchestration.quality.gate import reports_dir
    from orchestration.quality.history import History
    from orchestration.quality.runner import CheckResult
    from orchestration.quality.suites import Check

    failed = [
        r
        for r in run_results.get("results", [])
        if str(r.get("unique_id", "")).startswith("test.") and r.get("status") in ("fail", "error")
    ]
    if not failed:
        return
    check = Check(
        name=DBT_TESTS_CHECK,
        suite="dbt",
        table="dbt build",
        query=None,
        asset_key=("eduaid_dbt",),
        baseline="previous_publish",
    )
    results = [
        CheckResult(
            expectation=f"dbt test {r['unique_id'].split('.')[2]}",
            column=None,
            severity="critical",
            success=False,
            unexpected_count=r.get("failures"),
            problem=None if r.get("status") == "fail" else str(r.get("message")),
        )
        for r in failed
    ]
    History(reports_dir(settings)).record(run_id, check, results)
