"""The project's reference data (seeds/*.csv), as the generator and its truth read it.

The seeds are the one definition of every vocabulary (stages, statuses, finding types
and their severities, programmes, header spellings): dbt loads them, the quality
thresholds read them, and so do the generator and the truth here.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with open(SEEDS / name, encoding="utf-8-sig", newline="") as fh:
        return tuple(csv.DictReader(fh))


def read_seed(name: str) -> list[dict[str, str]]:
    """The rows of seeds/<name> (a copy: callers may change them)."""
    return [dict(row) for row in _rows(name)]


def status_codes(source: str) -> dict[str, str]:
    """status_crosswalk.csv for one source: the text an export writes -> its code."""
    return {
        r["status_text"]: r["status_code"]
        for r in _rows("status_crosswalk.csv")
        if r["source"] == source
    }


def finding_severities() -> dict[str, str]:
    """finding_types.csv: finding type -> severity."""
    return {r["finding_type"]: r["severity"] for r in _rows("finding_types.csv")}
