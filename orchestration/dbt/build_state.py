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

RAW_SCHEMA = "raw"
DBT_PROJECT_NAME = "eduaid"  # dbt_project.yml's name


def model_id(name: str) -> str:
    """dbt's unique id of the model `name` (a table's name is its model's)."""
    return f"model.{DBT_PROJECT_NAME}.{name}"


def state_file(build_db: Path) -> Path:
    return build_db.with_name(build_db.name + ".dbt-build.json")


def source_digests(build_db: Path) -> dict[str, str]:
    """source -> md5 of the (file name, content hash, delivery time, rows) of every file
    version its raw table holds; '' for a source with no table yet."""
    digests = dict.fromkeys(SOURCES, "")
    if not build_db.exists():
        return digests
    with duckdb.connect(str(build_db), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?", [RAW_SCHEMA]
            ).fetchall()
        }
        for source in SOURCES:
            if source not in tables:
                continue
            (digests[source],) = con.execute(f"""
                select coalesce(md5(string_agg(
                    concat_ws('|', _file_name, _file_sha256, _delivered_at, rows), chr(10)
                    order by _file_name, _file_sha256, _delivered_at
                )), '')
                from (
                    select _file_name, _file_sha256, _delivered_at, count(*) as rows
                    from {RAW_SCHEMA}.{source}
                    group by all
                )
            """).fetchone()
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
    changed: tuple[str, ...]  # the sources whose file versions changed (all on a full build)
    why: str

    def kept(self, manifest: Mapping[str, Any], selected: Iterable[str]) -> list[str]:
        """The selected nodes an incremental build leaves alone: those no changed source
        is upstream of (dbt's `source:raw.<source>+`, computed from the manifest)."""
        if self.full:
            return []
        todo = [
            f"source.{manifest['metadata']['project_name']}.{RAW_SCHEMA}.{s}" for s in self.changed
        ]
        downstream: set[str] = set()
        while todo:
            for child in manifest["child_map"].get(todo.pop(), []):
                if child not in downstream:
                    downstream.add(child)
                    todo.append(child)
        return sorted(set(selected) - downstream)


def plan_build(
    state: BuildState,
    nodes: Iterable[str],
    project: str,
    sources: Mapping[str, str],
    forced: bool = False,
) -> BuildPlan:
    """What to build of the dbt nodes `nodes` (the run's selection): all of them in full
    when asked, when one was never built or was built by another project; else only
    what is downstream of a source whose file versions differ from those some selected
    node was built from (a slight over-selection is harmless, a missed node is not)."""
    everything = tuple(SOURCES)
    if forced:
        return BuildPlan(True, everything, "full refresh asked for")
    builds = [state.nodes.get(uid) for uid in nodes]
    if not builds or any(b is None for b in builds):
        return BuildPlan(True, everything, "full refresh: no build recorded for this database")
    if any(b.project != project for b in builds):
        return BuildPlan(
            True, everything, "full refresh: the dbt project or a seed changed since the last build"
        )
    changed = tuple(s for s in SOURCES if any(b.sources.get(s) != sources.get(s) for b in builds))
    if not changed:
        return BuildPlan(False, (), "nothing to build: no source changed since the last build")
    return BuildPlan(
        False,
        changed,
        f"incremental: only what reads {', '.join(changed)} (new or replaced file versions); "
        "staging parses only the file versions that are new",
    )
