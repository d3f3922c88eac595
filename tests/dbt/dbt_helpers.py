"""Run dbt in process against a throwaway build database (shared by the dbt tests)."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dbt.cli.main import dbtRunner, dbtRunnerResult

from eduaid_synth.truth import read_table

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
SEEDS_DIR = REPO / "seeds"


class Built:
    def __init__(self, root: Path, database: Path, key: str):
        self.root, self.database, self.key = root, database, key

    def truth(self, name: str) -> pd.DataFrame:
        df = read_table(self.root / "truth", name)
        return df.drop(columns="county_code")

    def counties(self) -> int:
        """How many counties the landing folder holds (the truth is computed per county)."""
        return read_table(self.root / "truth", "persons")["county_code"].nunique()

    def sql(self, query: str) -> pd.DataFrame:
        # dbt-duckdb keeps the database open in this process: same (default) configuration.
        with duckdb.connect(str(self.database)) as con:
            return con.execute(query).df()

    def person_key(self, nk: str) -> str:
        return hmac.new(self.key.encode(), nk.encode(), hashlib.sha256).hexdigest()


def run_dbt(args: list[str], work: Path) -> dbtRunnerResult:
    """`dbt <args>` on the project, with target and logs under ``work``."""
    return dbtRunner().invoke(
        [
            *args,
            *("--project-dir", str(PROJECT)),
            *("--profiles-dir", str(PROJECT)),
            *("--target-path", str(work / "target")),
            *("--log-path", str(work / "logs")),
        ]
    )


@contextmanager
def build_db(database: Path) -> Iterator[None]:
    """Point the dbt profile at ``database`` for the duration."""
    previous = os.environ.get("EDUAID_BUILD_DB")
    os.environ["EDUAID_BUILD_DB"] = str(database)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("EDUAID_BUILD_DB", None)
        else:
            os.environ["EDUAID_BUILD_DB"] = previous


def failures(result: dbtRunnerResult, folder: str = "", allow_warn: bool = False) -> list[str]:
    """Every node (of the given folder) that did not succeed or pass. With allow_warn,
    tests of severity warn (source-data problems kept for the auditors) may warn."""
    assert result.result is not None, result.exception
    ok = ("success", "pass", "warn") if allow_warn else ("success", "pass")
    return [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in result.result
        if r.node.original_file_path.startswith(folder) and str(r.status) not in ok
    ]


def compare(truth: pd.DataFrame, mine: pd.DataFrame, keys: list[str]) -> None:
    """Equal as sets of rows: no row missing, none extra, every value the same."""
    assert not truth.duplicated(keys).any() and not mine.duplicated(keys).any()
    merged = truth.merge(mine, on=keys, how="outer", suffixes=("_truth", "_mine"), indicator=True)
    missing = merged[merged["_merge"] == "left_only"]
    extra = merged[merged["_merge"] == "right_only"]
    assert missing.empty, f"{len(missing)} rows of the truth missing:\n{missing.head(5)}"
    assert extra.empty, f"{len(extra)} rows not in the truth:\n{extra.head(5)}"
    for column in [c for c in truth.columns if c not in keys]:
        differ = merged[merged[f"{column}_truth"] != merged[f"{column}_mine"]]
        assert differ.empty, f"{column} differs in {len(differ)} rows:\n{differ.head(5)}"


def snapshot_db(database: Path, target: Path) -> Path:
    """A copy of a database that dbt-duckdb may still hold open in this process: its WAL
    checkpointed into the file first (a bare file copy would miss the last models)."""
    with duckdb.connect(str(database)) as con:
        con.execute("checkpoint")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, target)
    return target
