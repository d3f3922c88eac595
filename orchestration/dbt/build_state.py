"""What the next `dbt build` must rebuild, from what the last good build was built from.

Beside the build database, `<build db>.dbt-build.json` records, after every build that
raised nothing, for every dbt model and seed the run selected (`nodes`):
- `run`: the run that last built its table (a node left alone keeps the older run);
- `project`: the fingerprint of the dbt project it was built or kept with (models, macros,
  seeds, profile, the Python rules dbt runs): a different one rebuilds everything,
  incremental models in full;
- `sources`: per raw source, a digest of the file versions its table held (name, content
  hash, delivery time, rows), which is everything a model reads from it.

A run whose project is unchanged builds only what is downstream of the sources whose
digest changed (dbt's `source:raw.<source>+`): a new payment batch rebuilds the payment
models and the marts and findings that read them, not the student, household or
population models, whose inputs are the same rows as last time and whose tables are
kept. The gate then validates a table again only if a run rebuilt it (quality/gate.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from orchestration.ingest.reading import SOURCES
from orchestration.settings import dbt_project_yml

RAW_SCHEMA = "raw"
DBT_PROJECT_NAME = dbt_project_yml()["name"]  # the gate names models without a manifest


def model_id(name: str) -> str:
    """dbt's unique id of the model `name` (a table's name is its model's)."""
    return f"model.{DBT_PROJECT_NAME}.{name}"


def state_file(build_db: Path) -> Path:
    return build_db.with_name(build_db.name + ".dbt-build.json")


# the ingest's own tables, also dbt sources (raw.load_manifest, …): they change with every
# file loaded or rejected, so a model that reads one is rebuilt when they do
BOOKKEEPING = ("load_manifest", "file_sightings", "quarantine")
RAW_TABLES = (*SOURCES, *BOOKKEEPING)


def source_digests(build_db: Path) -> dict[str, str]:
    """raw table -> md5 of what a model can read from it: for a registry source, the
    (file name, content hash, delivery time, rows) of every file version it holds; for a
    bookkeeping table, its rows (one per file or quarantined line). '' for no table yet."""
    digests = dict.fromkeys(RAW_TABLES, "")
    if not build_db.exists():
        return digests
    with duckdb.connect(str(build_db), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?", [RAW_SCHEMA]
            ).fetchall()
        }
        for table in RAW_TABLES:
            if table not in tables:
                continue
            rows = (
                f"""select concat_ws('|', _file_name, _file_sha256, _delivered_at, count(*))
                from {RAW_SCHEMA}.{table} group by _file_name, _file_sha256, _delivered_at"""
                if table in SOURCES
                else f"select cast(t as varchar) from {RAW_SCHEMA}.{table} as t"
            )
            (digests[table],) = con.execute(
                f"select coalesce(md5(string_agg(line, chr(10) order by line)), '') "
                f"from ({rows}) as versions(line)"
            ).fetchone()
    return digests


@dataclass(frozen=True)
class NodeBuild:
    """How one dbt node was last built: in which run, from which project and sources."""

    run: str
    project: str
    sources: Mapping[str, str]


@dataclass(frozen=True)
class BuildState:
    nodes: Mapping[str, NodeBuild] = field(default_factory=dict)  # dbt unique id ->

    @classmethod
    def read(cls, build_db: Path) -> BuildState:
        path = state_file(build_db)
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls({uid: NodeBuild(**node) for uid, node in data.get("nodes", {}).items()})

    def write(self, build_db: Path) -> None:
        path = state_file(build_db)
        tmp = path.with_name(f".{path.name}.tmp")
        data = {"nodes": {uid: asdict(node) for uid, node in sorted(self.nodes.items())}}
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)

    def after(
        self,
        selected: Iterable[str],
        built: Iterable[str],
        run: str,
        project: str,
        sources: Mapping[str, str],
    ) -> BuildState:
        """The state after a good build of the run's `selected` nodes, of which `built` were
        rebuilt in run `run`: the others were left alone because none of their sources
        changed, so they are current too, with the content of the run that last built them."""
        built = set(built)
        nodes = dict(self.nodes)
        for uid in selected:
            if uid in built:
                nodes[uid] = NodeBuild(run, project, dict(sources))
            elif uid in nodes:
                nodes[uid] = replace(nodes[uid], project=project, sources=dict(sources))
            # a node never built (left out by the run's `exclude`) stays unrecorded: the
            # next run that selects it builds everything
        return BuildState(nodes)

    def run_of(self, unique_id: str) -> str | None:
        node = self.nodes.get(unique_id)
        return node.run if node else None


@dataclass(frozen=True)
class BuildPlan:
    full: bool  # rebuild every selected node, incremental models in full
    kept: tuple[str, ...]  # the selected nodes left alone: no raw table they read changed
    why: str

    def builds_anything(self, selected: Iterable[str]) -> bool:
        return self.full or bool(set(selected) - set(self.kept))


def downstream(manifest: Mapping[str, Any], tables: Iterable[str]) -> set[str]:
    """Every node that reads one of the raw `tables`, directly or not (dbt's
    `source:raw.<table>+`), from the manifest's child map."""
    project = manifest["metadata"]["project_name"]
    todo = [f"source.{project}.{RAW_SCHEMA}.{t}" for t in tables]
    found: set[str] = set()
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def plan_build(
    state: BuildState,
    manifest: Mapping[str, Any],
    nodes: Iterable[str],
    project: str,
    sources: Mapping[str, str],
    forced: bool = False,
) -> BuildPlan:
    """What to build of the dbt nodes `nodes` (the run's selection): all of them in full
    when asked, when one was never built or was built by another project; else only
    what reads a raw table whose digest differs from the one some selected node was built
    with (a slight over-selection is harmless, a missed node is not)."""
    nodes = list(nodes)
    if forced:
        return BuildPlan(True, (), "full refresh asked for")
    builds = [state.nodes.get(uid) for uid in nodes]
    if not builds or any(b is None for b in builds):
        return BuildPlan(True, (), "full refresh: no build recorded for this database")
    if any(b.project != project for b in builds):
        return BuildPlan(
            True, (), "full refresh: the dbt project or a seed changed since the last build"
        )
    changed = [t for t in RAW_TABLES if any(b.sources.get(t) != sources.get(t) for b in builds)]
    reading = {t: downstream(manifest, [t]) & set(nodes) for t in changed}
    rebuilt = set().union(*reading.values())
    kept = tuple(sorted(uid for uid in nodes if uid not in rebuilt))
    read = [t for t in changed if reading[t]]
    if not read:
        why = (
            f"only {', '.join(changed)} changed, which no selected model reads"
            if changed
            else "no source changed since the last build"
        )
        return BuildPlan(False, kept, f"nothing to build: {why}")
    return BuildPlan(
        False,
        kept,
        f"incremental: only what reads {', '.join(read)} (new or replaced file versions); "
        "staging parses only the file versions that are new",
    )
