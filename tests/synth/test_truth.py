"""The truth is consistent with itself: re-derived here from its own clean tables with
the contract's rules (indicators.md, aid_standards.md), written independently of
eduaid_synth's code."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from eduaid_synth.payments import PlantConfig

# aid_standards.md, per semester, 2019-autumn … 2022-spring
STANDARD = {
    ("PRE_AID", "preschool"): "500.00",
    ("BOARD", "primary"): "500.00",
    ("BOARD", "junior"): "625.00",
    ("NONBOARD", "primary"): "250.00",
    ("NONBOARD", "junior"): "312.50",
    ("HS_GRANT", "senior"): "1000.00",
    ("HS_FEE", "senior"): "800.00",
    ("VOC_GRANT", "vocational"): "1000.00",
    ("VOC_FEE", "vocational"): "1000.00",
    ("YULU", "vocational"): "1500.00",
}


def _programmes(stage: str, boarding: bool, grade: int, in_household: bool) -> set[str]:
    if stage == "preschool":
        return {"PRE_AID"}
    if stage in ("primary", "junior"):
        return {"BOARD"} if boarding else {"NONBOARD"}
    if stage == "senior":
        return {"HS_GRANT", "HS_FEE"}
    if stage == "vocational":
        out = {"VOC_FEE"} | ({"VOC_GRANT"} if grade <= 2 else set())
        return out | ({"YULU"} if in_household else set())
    return set()


def test_entitlements_follow_from_enrollments_and_households(truth):
    enr = truth("enrollments")
    members = truth("household_members")
    listed = truth("household_status")
    in_hh = set(zip(members["person_nk"], members["term_code"], strict=True))
    assert set(zip(members["household_id"], members["term_code"], strict=True)) <= set(
        zip(listed["household_id"], listed["term_code"], strict=True)
    )
    expected = set()
    for r in enr.itertuples():
        if r.enrollment_status != "enrolled":
            continue
        hh = (r.person_nk, r.term_code) in in_hh
        if not (hh or r.is_disabled == "true"):
            continue
        for p in _programmes(r.stage, r.is_boarding == "true", int(r.grade_number), hh):
            expected.add((r.person_nk, r.term_code, p))
    ent = truth("entitlements")
    got = set(zip(ent["person_nk"], ent["term_code"], ent["program_code"], strict=True))
    assert got == expected
    for r in ent.itertuples():
        assert r.standard_yuan == STANDARD[(r.program_code, r.stage)]


def test_net_paid_is_the_sum_of_valid_lines_refunds_netted(truth):
    lines = truth("payment_lines")
    net: Counter = Counter()
    for r in lines.itertuples():
        if r.person_nk:
            net[(r.person_nk, r.term_code, r.program_code)] += Decimal(r.amount_yuan)
    for r in truth("entitlements").itertuples():
        paid = net[(r.person_nk, r.term_code, r.program_code)]
        assert Decimal(r.net_paid_yuan) == paid
        assert (r.is_covered == "true") == (paid > 0)


def test_coverage_tables_add_up(truth):
    ent = truth("entitlements")
    cov = truth("coverage_by_program")
    assert cov["entitled"].astype(int).sum() == len(ent)
    assert cov["covered"].astype(int).sum() == (ent["is_covered"] == "true").sum()
    summ = truth("coverage_summary")
    students = ent.groupby(["person_nk", "term_code"])["is_covered"].apply(
        lambda s: (s == "true").all()
    )
    assert summ["entitled_students"].astype(int).sum() == len(students)
    assert summ["fully_covered"].astype(int).sum() == students.sum()


def test_missed_eligible_are_exactly_the_uncovered_entitlements(truth):
    ent = truth("entitlements")
    f = truth("findings")
    missed = f[f["finding_type"] == "MISSED_ELIGIBLE"]
    assert set(
        zip(missed["person_nk"], missed["term_code"], missed["program_code"], strict=True)
    ) == set(
        zip(
            *[
                ent.loc[ent["is_covered"] == "false", c]
                for c in ("person_nk", "term_code", "program_code")
            ],
            strict=True,
        )
    )


def test_planted_findings_have_their_configured_counts(truth):
    plants = PlantConfig()
    counts = truth("findings")["finding_type"].value_counts()
    assert counts["PAID_AFTER_DEATH"] == plants.paid_after_death
    assert counts["DUPLICATE_PAYMENT"] == (
        plants.duplicate_same_file + plants.duplicate_two_batches + plants.duplicate_two_schools
    )
    assert counts["PAID_NOT_ENROLLED"] == plants.paid_not_enrolled
    assert counts["INELIGIBLE_RECIPIENT"] == plants.ineligible_recipient
    assert counts["STAGE_MISMATCH"] == plants.stage_mismatch
    assert counts["AMOUNT_MISMATCH"] == plants.amount_mismatch
    assert counts["MISSED_ELIGIBLE"] == plants.missed_eligible
    assert counts["DUPLICATE_ENROLLMENT"] == plants.duplicate_enrollment
    assert (
        counts["IDENTITY_CONFLICT"] == plants.identity_bad_checksum + plants.identity_name_conflict
    )
    assert counts["OUT_OF_SCHOOL_CHILD"] == len(truth("out_of_school_children"))


def test_payment_findings_point_at_lines_in_files(truth):
    lines = truth("payment_lines").set_index("line_id")
    f = truth("findings")
    for r in f[f["line_ids"] != ""].itertuples():
        for lid in r.line_ids.split("|"):
            line = lines.loc[lid]
            assert line["source_file"] and int(line["row_number"]) > 0
            assert line["term_code"] == r.term_code
    dup = f[f["finding_type"] == "DUPLICATE_PAYMENT"]
    assert all(len(x.split("|")) >= 2 for x in dup["line_ids"])


def test_lookalikes_are_planted_and_not_findings(truth):
    lines = truth("payment_lines")
    f = truth("findings")
    flagged = set(zip(f["person_nk"], f["term_code"], strict=True))
    refunded = lines[lines["plant"] == "LOOKALIKE_REFUNDED_DUPLICATE"]
    assert (refunded["is_refund"] == "true").sum() == PlantConfig().refunded_duplicate
    assert not (set(zip(refunded["person_nk"], refunded["term_code"], strict=True)) & flagged)
    uni = lines[lines["program_code"].isin(["LOAN", "ENTRY"])]
    assert len(uni) > 0 and not (
        set(zip(uni["person_nk"], uni["term_code"], strict=True)) & flagged
    )
    persons = truth("persons")
    l_only = persons[persons["person_nk"].str.startswith("L")]
    assert len(l_only) > 0 and not (set(l_only["person_nk"]) & set(f["person_nk"]))
    exited = truth("entitlements")
    assert (exited["hardship_category"] == "脱贫户").sum() > 0


def test_every_registry_person_term_has_one_transition(truth):
    enr = truth("enrollments")
    tr = truth("transitions")
    last = "2022-spring"
    expected = set(
        zip(
            enr.loc[enr["term_code"] != last, "person_nk"],
            enr.loc[enr["term_code"] != last, "term_code"],
            strict=True,
        )
    )
    got = list(zip(tr["person_nk"], tr["term_code"], strict=True))
    assert len(got) == len(set(got)) and set(got) == expected
    assert set(tr["transition"]) == {
        "continued",
        "graduated",
        "transferred_out",
        "suspended",
        "dropped_out",
        "deceased",
        "returned",
    }


def test_dropout_rate_is_dropouts_over_enrolled(truth):
    cohort = truth("dropout_cohort")
    rates = truth("dropout_rates")
    d = rates[(rates["variant"] == "default") & (rates["stage"] == "junior")]
    for r in d.itertuples():
        c = cohort[
            (cohort["school_year"] == r.school_year)
            & (cohort["stage"] == "junior")
            & (cohort["is_excluded"] == "false")
        ]
        assert int(r.enrolled) == len(c)
        assert int(r.dropouts) == (c["is_dropout"] == "true").sum()
        assert float(r.consolidation_rate) == pytest.approx(1 - int(r.dropouts) / len(c))


def test_out_of_school_children_are_not_enrolled(truth):
    oos = truth("out_of_school_children")
    enr = truth("enrollments")
    enrolled = set(
        zip(
            enr.loc[enr["enrollment_status"] == "enrolled", "person_nk"],
            enr.loc[enr["enrollment_status"] == "enrolled", "term_code"],
            strict=True,
        )
    )
    assert len(oos) > 0
    assert not (set(zip(oos["person_nk"], oos["term_code"], strict=True)) & enrolled)
    assert oos["age"].astype(int).between(6, 15).all()
    assert set(oos["ledger_disposition"]) <= {"", "未返校", "劝返复学"}
