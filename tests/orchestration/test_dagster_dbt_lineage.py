"""Dagster definitions: files -> raw assets -> dbt models, grouped by dbt folder."""

import copy
import json

from dagster import AssetKey

from orchestration.dbt.assets import RAW_KEYS, EduaidDbtTranslator
from orchestration.dbt.project import dbt_project
from orchestration.definitions import defs
from orchestration.ingest.assets import raw_asset_key
from orchestration.ingest.reading import SOURCES


def manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))


def test_staging_models_read_the_ingest_raw_assets():
    graph = defs.resolve_asset_graph()
    nodes = manifest()["nodes"]
    staging = [
        n for n in nodes.values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/staging/")
    ]  # fmt: skip
    assert staging
    seen = set()
    for node in staging:
        key = AssetKey(["staging", node["name"]])
        assert graph.get(key).group_name == "staging"
        parents = graph.get(key).parent_keys
        sources = [u for u in node["depends_on"]["nodes"] if u.startswith("source.")]
        assert sources, node["unique_id"]
        for unique_id in sources:
            source = unique_id.split(".")[-1]
            assert source in SOURCES
            assert raw_asset_key(source) in parents
            seen.add(source)
        # Every upstream is an asset of the code location, none an external stub.
        for parent in parents:
            assert graph.get(parent).is_materializable, parent
            assert graph.get(parent).group_name in ("raw", "reference", "staging"), parent
    assert seen == set(SOURCES)
    # The raw assets are the ingest's, not copies made by dagster-dbt, and in the one job.
    pipeline = defs.resolve_job_def("eduaid_pipeline")
    assert set(RAW_KEYS) <= set(pipeline.asset_layer.asset_graph.get_all_asset_keys())


def test_groups_follow_the_dbt_folders():
    graph = defs.resolve_asset_graph()
    nodes = manifest()["nodes"]
    for node in nodes.values():
        if node["resource_type"] == "model":
            folder = node["original_file_path"].split("/")[1]
            assert graph.get(AssetKey([folder, node["name"]])).group_name == folder
        elif node["resource_type"] == "seed":
            assert graph.get(AssetKey(["reference", node["name"]])).group_name == "reference"


def test_bookkeeping_sources_depend_on_all_raw_assets():
    blob = manifest()
    staging = next(
        n for n in blob["nodes"].values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/staging/")
    )  # fmt: skip
    fake = copy.deepcopy(staging)
    fake["unique_id"] = "model.eduaid.stg_fake__files"
    fake["name"] = "stg_fake__files"
    fake["depends_on"]["nodes"] = ["source.eduaid.raw.load_manifest"]
    blob["nodes"][fake["unique_id"]] = fake
    spec = EduaidDbtTranslator().get_asset_spec(blob, fake["unique_id"], dbt_project)
    assert spec.key == AssetKey(["staging", "stg_fake__files"])
    assert {dep.asset_key for dep in spec.deps} == set(RAW_KEYS)


def test_the_findings_union_is_exactly_the_seeds_finding_types():
    import csv

    from orchestration.settings import SEEDS_DIR

    with (SEEDS_DIR / "finding_types.csv").open(encoding="utf-8") as f:
        types = {r["finding_type"] for r in csv.DictReader(f)}
    (node,) = [n for n in manifest()["nodes"].values() if n["name"] == "fct_audit_finding"]
    models = {d.split(".")[-1] for d in node["depends_on"]["nodes"] if d.startswith("model.")}
    expected = {f"int_finding_{t.lower()}" for t in types - {"OUT_OF_SCHOOL_CHILD"}}
    # dim_term: which term comes before (is_carried_over)
    assert models == expected | {"fct_out_of_school_child", "dim_term"}
