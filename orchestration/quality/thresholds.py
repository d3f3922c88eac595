"""Thresholds and reference sets that the suites in `expectations/` refer to.

A suite never holds a threshold as a literal: it names a parameter
(`{"$PARAMETER": "disbursement_amount_max_yuan"}`) and GX substitutes the value
given here at validation time. Each default can be overridden from the environment
as `EDUAID_QUALITY_<NAME>` (a JSON value: `EDUAID_QUALITY_DISBURSEMENT_AMOUNT_MAX_YUAN=30000`).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from typing import Any

from orchestration.settings import SEEDS_DIR

DEFAULTS: dict[str, Any] = {
    # the tables every suite checks are never empty
    "min_row_count": 1,
    # one payment line: the largest cap (a student loan for a school year) and its refund
    "disbursement_amount_min_yuan": -20000,
    "disbursement_amount_max_yuan": 20000,
}


def program_codes() -> list[str]:
    """The programme codes of the reference data, and the unknown member of dim_aid_program."""
    with (SEEDS_DIR / "aid_programs.csv").open(encoding="utf-8") as f:
        return [row["program_code"] for row in csv.DictReader(f)] + ["UNKNOWN"]


def parameters(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every value a suite may name: the thresholds (with overrides) and reference sets."""
    env = os.environ if env is None else env
    values = dict(DEFAULTS)
    for name in DEFAULTS:
        raw = env.get(f"EDUAID_QUALITY_{name.upper()}")
        if raw:
            values[name] = json.loads(raw)
    values["program_codes"] = program_codes()
    return values
