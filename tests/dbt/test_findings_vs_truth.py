"""The audit findings (marts/audit) against the generator's truth, for two seeds at county scale.

Per finding type, the findings must be exactly the planted ones (precision and recall
100%): the same (finding type, term, person, programme, school), the same severity, and
the same payment lines (file and row) involved. The look-alikes the generator plants
(refunded duplicates, exited households still covered, university students, L-number
students, corrections delivered as a second file) are not flagged: any finding beyond
the truth fails the comparison. Person keys are recomputed here with Python's hmac,
independently of the UDF.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from dbt_helpers import compare

pytestmark = pytest.mark.slow

# The finding types compared with the truth (all ten of indicators.md); a new type
# goes here once its model is in fct_audit_finding.
FINDING_TYPES = [
    "PAID_AFTER_DEATH",
    "DUPLICATE_PAYMENT",
    "PAID_NOT_ENROLLED",
    "STAGE_MISMATCH",
    "AMOUNT_MISMATCH",
    "DUPLICATE_ENROLLMENT",
    "IDENTITY_CONFLICT",
    "MISSED_ELIGIBLE",
    "INELIGIBLE_RECIPIENT",
    "OUT_OF_SCHOOL_CHILD",
]
KEYS = ["finding_type", "term_code", "person_key"]

MINE = """
select
    f.finding_type, f.term_code, f.person_key, f.finding_key, f.severity,
    coalesce(f.program_code, '') as program_code,
    coalesce(f.school_code, '') as school_code,
    coalesce((
        select string_agg(d.source_file || ':' || d.source_row, '|')
        from unnest(f.disbursement_keys) as u(disbursement_key)
        inner join marts.fct_disbursement as d on d.disbursement_key = u.disbursement_key
    ), '') as source_rows
from marts.fct_audit_finding as f
"""


def _lines(rows: str) -> str:
    """`file:row|file:row` as a sorted set (the order of the lines does not matter)."""
    return "|".join(sorted(rows.split("|"))) if rows else ""


def _truth(built, finding_type: str) -> pd.DataFrame:
    truth = built.truth("findings").query("finding_type == @finding_type").copy()
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth["source_rows"] = truth["source_rows"].map(_lines)
    return truth


def _mine(built, finding_type: str) -> pd.DataFrame:
    mine = built.sql(MINE).query("finding_type == @finding_type").copy()
    mine["source_rows"] = mine["source_rows"].map(_lines)
    return mine


@pytest.mark.parametrize("finding_type", FINDING_TYPES)
def test_findings_equal_the_truth(built, finding_type):
    truth, mine = _truth(built, finding_type), _mine(built, finding_type)
    assert len(truth), f"the truth has no {finding_type}"
    columns = [*KEYS, "program_code", "school_code", "severity"]
    compare(truth[columns], mine[columns], KEYS)


@pytest.mark.parametrize("finding_type", FINDING_TYPES)
def test_finding_lines_equal_the_truth(built, finding_type):
    truth, mine = _truth(built, finding_type), _mine(built, finding_type)
    columns = [*KEYS, "source_rows"]
    compare(truth[columns], mine[columns], KEYS)


def test_no_finding_on_a_refunded_duplicate(built):
    lines = built.truth("payment_lines")
    lookalike = lines[lines["plant"] == "LOOKALIKE_REFUNDED_DUPLICATE"]
    assert len(lookalike)
    refunded = set(lookalike["source_file"] + ":" + lookalike["row_number"])
    flagged = {line for rows in built.sql(MINE)["source_rows"] for line in rows.split("|")}
    assert not refunded & flagged


def test_finding_key_is_stable(built):
    """finding_key depends only on type, term and person (gen_skey: md5 of '|'-joined parts)."""
    mine = built.sql(MINE)
    expected = [
        hashlib.md5(f"{t}|{term}|{person}".encode()).hexdigest()
        for t, term, person in zip(
            mine["finding_type"], mine["term_code"], mine["person_key"], strict=True
        )
    ]
    assert mine["finding_key"].tolist() == expected
    assert mine["finding_key"].is_unique


def _term_before(term_code: str) -> str:
    year, semester = term_code.split("-")
    return f"{int(year) - 1}-autumn" if semester == "spring" else f"{year}-spring"


def test_a_lead_already_found_the_term_before_is_carried_over(built):
    """fct_audit_finding.is_carried_over against the truth: the same type and person was a
    planted finding of the term just before (上学期已报、本学期仍存在)."""
    truth = built.truth("findings")
    persons = truth["person_nk"].map(built.person_key)
    leads = set(zip(truth["finding_type"], truth["term_code"], persons, strict=True))
    carried = {(f, t, p) for f, t, p in leads if (f, _term_before(t), p) in leads}
    assert carried, "the truth has no lead found again the term after"
    mine = built.sql(
        "select finding_type, term_code, person_key from marts.fct_audit_finding "
        "where is_carried_over"
    )
    assert set(mine.itertuples(index=False, name=None)) == carried
