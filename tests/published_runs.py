"""The whole pipeline (`python -m orchestration.run`, as `make run`) on the hand-written
landings of tests/fixtures/conformance and on the samples, run once per test session and
shared by the modules that check what it published (tests/dbt/test_conformance_publish.py,
tests/reports/test_term_report_recomputed.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE = REPO / "tests" / "fixtures" / "conformance"
LANDINGS = {
    "first_term_one_school": CONFORMANCE / "landing_first_term_one_school" / "expected.json",
    "two_terms_two_schools": CONFORMANCE / "landing_two_terms_two_schools" / "expected.json",
    "samples": CONFORMANCE / "samples.expected.json",
}
SOURCES = ("schools", "households", "students", "population", "dropout_ledger", "disbursements")


@dataclass
class Run:
    name: str
    expected: dict
    returncode: int
    output: str
    warehouse: Path

    def key(self, id_number: str) -> str:
        secret = self.expected["key"].encode()
        return hmac.new(secret, id_number.encode(), hashlib.sha256).hexdigest()

    def names(self) -> dict[str, str]:
        """person_key -> name of everyone the expectations name by a valid ID."""
        people = {}
        for section in ("entitlements", "students_with_valid_id", "out_of_school_children",
                        "transitions", "findings"):  # fmt: skip
            for row in self.expected.get(section, []):
                if row.get("id_number"):
                    people[self.key(row["id_number"])] = row["name"]
        for row in self.expected.get("enrollments", {}).get("people", []):
            people[self.key(row["id_number"])] = row["name"]
        return people

    def database(self, name: str) -> duckdb.DuckDBPyConnection:
        path = self.warehouse / name
        if not path.exists():
            pytest.fail(f"{name} not published (exit {self.returncode}):\n{self.output[-4000:]}")
        return duckdb.connect(str(path), read_only=True)


def deliver(landing_source: Path, landing: Path, later: list[str]) -> None:
    """Copy the data files (not README/expected), delivered an hour ago; `later` ones a
    minute after the rest."""
    start = time.time() - 3600
    for source in SOURCES:
        for path in sorted((landing_source / source).glob("*")):
            target = landing / source / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            when = start + (60 if f"{source}/{path.name}" in later else 0)
            os.utime(target, (when, when))


_RUNS: dict[str, Run] = {}


def published(name: str, base: Path) -> Run:
    """The pipeline run on landing `name` (a key of LANDINGS), once per session, under
    `base` (the session's temporary folder)."""
    if name in _RUNS:
        return _RUNS[name]
    expected = json.loads(LANDINGS[name].read_text("utf-8"))
    landing_source = REPO / expected["landing"] if "landing" in expected else None
    landing_source = landing_source or LANDINGS[name].parent
    root = base / f"published_{name}"
    deliver(landing_source, root / "landing", expected.get("delivered_later", []))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUAID_")}
    env |= {
        "EDUAID_LANDING": str(root / "landing"),
        "EDUAID_WAREHOUSE": str(root / "wh"),
        "EDUAID_TRUTH": str(root / "truth"),
        "EDUAID_KEY_FILE": str(root / "key"),
        "EDUAID_PSEUDONYM_KEY": expected["key"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    output = done.stdout + done.stderr
    (root / "run.log").write_text(output, encoding="utf-8")
    _RUNS[name] = Run(name, expected, done.returncode, output, root / "wh")
    return _RUNS[name]
