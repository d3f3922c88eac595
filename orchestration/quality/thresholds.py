"""Thresholds and reference sets that the suites in `expectations/` refer to.

A suite never holds a threshold as a literal: it names a parameter
(`{"$PARAMETER": "disbursement_amount_max_yuan"}`) and GX substitutes the value
given here at validation time. Each default can be overridden from the environment
as `EDUAID_QUALITY_<NAME>` (a JSON value: `EDUAID_QUALITY_DISBURSEMENT_AMOUNT_MAX_YUAN=30000`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

from orchestration.seeds import read_seed
from orchestration.settings import dbt_project_yml

DEFAULTS: dict[str, Any] = {
    # the tables every suite checks are never empty
    "min_row_count": 1,
    # a table's rows may differ from the previous load (inputs) or publish (marts) by this share
    "row_count_tolerance": 0.5,
    # inputs: shares of rows that must carry a value, a valid ID, a parsed date or amount
    "required_present_min_share": 0.99,
    "id_valid_min_share": 0.95,
    "parsed_min_share": 0.98,
    # of a file's rows, at most this share may be quarantined (unreadable lines)
    "quarantined_max_share": 0.01,
    # ...and fewer quarantined lines than this in a file are reported, never blocking
    "quarantined_min_rows": 3,
    # a share below its threshold blocks only when this confident that the true share is
    # (one-sided Wilson bound): 1 bad ID among 11 lines warns, a column of garbage blocks
    "evidence_confidence": 0.95,
    # a row count is compared with the previous one only from this many rows (fewer: a
    # change says nothing about a volume collapse)
    "row_count_min_baseline": 50,
    # terms the registries may speak of
    "term_year_min": 2010,
    "term_year_max": 2035,
    # one payment line: the largest cap (a postgraduate loan for a school year) and its refund
    "disbursement_amount_min_yuan": -25000,
    "disbursement_amount_max_yuan": 25000,
}


def _seed_column(seed: str, column: str) -> list[str]:
    return list(dict.fromkeys(row[column] for row in read_seed(seed)))


def dbt_vars() -> dict[str, Any]:
    """The dbt project's vars: the compulsory age band is the models' and the checks' alike."""
    return dbt_project_yml().get("vars", {})


def program_codes() -> list[str]:
    """The programme codes of the reference data, and the unknown member of dim_aid_program."""
    return [*_seed_column("aid_programs.csv", "program_code"), "UNKNOWN"]


def parameters(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every value a suite may name: the thresholds (with overrides) and reference sets."""
    env = os.environ if env is None else env
    values = dict(DEFAULTS)
    for name in DEFAULTS:
        raw = env.get(f"EDUAID_QUALITY_{name.upper()}")
        if raw:
            values[name] = json.loads(raw)
    values["evidence_z"] = NormalDist().inv_cdf(values["evidence_confidence"])
    # the vocabularies the staging suites check the inputs against (the marts' are dbt's
    # relationship tests to the same seeds)
    values["program_codes"] = program_codes()
    values["stages"] = _seed_column("stages.csv", "stage")
    dbt = dbt_vars()
    values["compulsory_age_min"] = dbt["compulsory_age_min"]
    values["compulsory_age_max"] = dbt["compulsory_age_max"]
    values["term_codes"] = [
        f"{year}-{half}"
        for year in range(values["term_year_min"], values["term_year_max"] + 1)
        for half in ("spring", "autumn")
    ]
    values["dimension_term_codes"] = [*values["term_codes"], "unknown"]  # its unknown member
    # without a previous load or publish to compare with, the comparison is not
    # applicable (runner: meta.needs "history"); these bounds are then never judged
    values.setdefault("row_count_min", 0)
    values.setdefault("row_count_max", None)
    return values


def row_count_bounds(
    previous: int | None, tolerance: float, min_baseline: int
) -> tuple[dict[str, int], str | None]:
    """`row_count_min`/`row_count_max` around the previous row count, or why there is
    nothing to compare with (then the row-count comparison is not applicable)."""
    if previous is None:
        return {}, (
            "没有上一次入库或发布可比（首次运行），不适用 / "
            "no previous load or publish to compare with (a first run): not applicable"
        )
    if previous < min_baseline:
        return {}, (
            f"上一次只有 {previous} 行，少于 {min_baseline} 行，无法判断数据量骤降，不适用 / "
            f"the previous count, {previous} rows, is below {min_baseline}: too few to judge "
            "a change of volume, not applicable"
        )
    return {
        "row_count_min": max(1, math.floor(previous * (1 - tolerance))),
        "row_count_max": math.ceil(previous * (1 + tolerance)),
    }, None
