"""What the gate checks: one `Check` per suite of `expectations/` (and per source, for a
suite that says `"for_each": "source"`).

A suite's `meta` says what it validates:
- `table`: the relation in the build database, `schema.table`;
- `query` (optional): the SQL validated instead of `select * from <table>`, when a check
  needs a column computed by a join (an amount against the standard, a total reconciled;
  keys and foreign keys are dbt's tests, not the suites');
- `asset` (optional): the Dagster asset the check belongs to (default: the table's
  schema and name, which is the key dagster-dbt gives a model);
- `row_count_baseline`: `previous_load` (inputs) or `previous_publish` (marts): the run
  whose row count `row_count_min`/`row_count_max` are taken around;
- `for_each: "source"`: one check per registry source, `{source}` replaced in the above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.ingest.reading import SOURCES
from orchestration.quality.runner import EXPECTATIONS_DIR

BASELINES = ("previous_load", "previous_publish")


@dataclass(frozen=True)
class Check:
    name: str  # unique, a Python identifier (a Dagster check name)
    suite: str  # the suite's file stem in expectations/
    table: str
    query: str | None
    asset_key: tuple[str, ...]
    baseline: str  # one of BASELINES

    @property
    def is_input(self) -> bool:
        return self.baseline == "previous_load"


def discover(directory: Path = EXPECTATIONS_DIR) -> list[Check]:
    checks: list[Check] = []
    for path in sorted(directory.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("meta", {})
        if "table" not in meta:
            raise ValueError(f"{path}: meta.table names the relation the suite validates")
        baseline = meta.get("row_count_baseline", "previous_publish")
        if baseline not in BASELINES:
            raise ValueError(f"{path}: meta.row_count_baseline must be one of {BASELINES}")
        each = meta.get("for_each")
        if each not in (None, "source"):
            raise ValueError(f"{path}: meta.for_each can only be 'source'")
        for source in SOURCES if each else [None]:

            def filled(text: str, source: str | None = source) -> str:
                return text.replace("{source}", source) if source else text

            table = filled(meta["table"])
            checks.append(
                Check(
                    name=f"{path.stem}__{source}" if source else path.stem,
                    suite=path.stem,
                    table=table,
                    query=filled(meta["query"]) if meta.get("query") else None,
                    asset_key=tuple(filled(p) for p in meta.get("asset", table.split("."))),
                    baseline=baseline,
                )
            )
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise ValueError(f"two checks of {directory} share a name: {sorted(names)}")
    return checks
