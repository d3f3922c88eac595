"""Entitlements, payment lines and the planted audit findings of one county.

The generator pays what the contract says each entitled student should get
(``aid_standards.md``), then plants a known number of each audit finding of
``indicators.md`` and of the look-alikes that must not be flagged. Every plant
changes exactly what its finding needs and nothing else, so the findings a correct
pipeline reports are exactly the planted ones (``truth.py`` checks that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from . import names as nm
from .ids import wrong_check_char
from .terms import TERMS, household_snapshot_month, is_autumn, school_year, term_start
from .world import (
    DECEASED,
    ENROLLED,
    JUN,
    PRE,
    PRI,
    SEN,
    SUSPENDED,
    TER,
    TRANSFERRED,
    VOC,
    World,
    _expected_stage,
    grade_label,
    household_status_at,
    members_at,
)

# Standards in force 2019-autumn … 2022-spring, in cents, written down independently of
# seeds/aid_standards.csv (from aid_standards.md) so that tests of the seed mean something.
STANDARD_CENTS = {
    ("PRE_AID", PRE): 50000,
    ("BOARD", PRI): 50000,
    ("BOARD", JUN): 62500,
    ("NONBOARD", PRI): 25000,
    ("NONBOARD", JUN): 31250,
    ("HS_GRANT", SEN): 100000,
    ("HS_FEE", SEN): 80000,
    ("VOC_GRANT", VOC): 100000,
    ("VOC_FEE", VOC): 100000,
    ("YULU", VOC): 150000,
    ("YULU", TER): 150000,
}
LOAN_CAP_CENTS = {2019: 800000, 2020: 800000, 2021: 1200000}  # by school year (undergraduate)
ENTRY_CENTS = {True: 50000, False: 100000}  # in-province / out-of-province


@dataclass(frozen=True)
class PlantConfig:
    """How many of each finding (and look-alike) one county gets."""

    paid_after_death: int = 6
    duplicate_same_file: int = 5
    duplicate_two_batches: int = 5
    duplicate_two_schools: int = 4
    paid_not_enrolled: int = 12
    ineligible_recipient: int = 12
    stage_mismatch: int = 8
    amount_mismatch: int = 12
    missed_eligible: int = 40
    duplicate_enrollment: int = 8
    identity_bad_checksum: int = 6
    identity_name_conflict: int = 4
    refunded_duplicate: int = 10  # look-alike: duplicated line later refunded

    def scaled(self, factor: float) -> PlantConfig:
        """Counts for a county ``factor`` times the default size (at least one of each)."""
        from dataclasses import fields, replace

        return replace(
            self, **{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)}
        )


@dataclass
class Payments:
    lines: pd.DataFrame
    entitlements: pd.DataFrame
    planted: pd.DataFrame
    hardship: pd.DataFrame  # (pid, term) household facts, after the planted deaths
    notes: dict = field(default_factory=dict)


def hardship_by_term(world: World) -> pd.DataFrame:
    """(pid, term) → household hardship facts at the registry export that decides the term."""
    out = []
    for ti, term in enumerate(TERMS):
        when = household_snapshot_month(term)
        hh = household_status_at(world.households, when)
        m = members_at(world.membership, when)
        m = m.merge(
            hh[
                [
                    "household_id",
                    "poverty_status",
                    "monitoring_type",
                    "household_attribute",
                    "township",
                ]
            ],
            on="household_id",
        )
        out.append(m.assign(term=ti))
    return pd.concat(out, ignore_index=True)


def hardship_category(
    poverty_status: pd.Series, monitoring: pd.Series, disabled: pd.Series, in_household: pd.Series
) -> pd.Series:
    """The one hardship category a student is reported under (truth/README.md)."""
    cat = np.where(
        ~in_household,
        np.where(disabled, "残疾", ""),
        np.where(
            monitoring.fillna("") != "",
            "监测户",
            np.where(poverty_status == "已脱贫", "脱贫户", "建档立卡"),
        ),
    )
    return pd.Series(cat, index=poverty_status.index)


def primary_enrollment(registry: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """One registry row per (pid, term): 在读 first, then the smallest school code
    (the rule for duplicate enrollments, truth/README.md)."""
    r = registry.assign(school_code=schools["school_code"].to_numpy()[registry["school"]])
    r = r.assign(_rank=np.where(r["status"] == ENROLLED, 0, 1))
    r = r.sort_values(["pid", "term", "_rank", "school_code"], kind="mergesort")
    return r.drop_duplicates(["pid", "term"]).drop(columns="_rank")


def entitlements(world: World, hardship: pd.DataFrame) -> pd.DataFrame:
    """Entitled (pid, term, program) with the standard amount (indicators.md)."""
    kids = world.people.set_index("pid")
    enr = primary_enrollment(world.registry, world.schools)
    enr = enr[enr["status"] == ENROLLED]
    hh = hardship.drop_duplicates(["pid", "term"])[
        ["pid", "term", "poverty_status", "monitoring_type"]
    ]
    e = enr.merge(hh, on=["pid", "term"], how="left")
    e["in_household"] = e["poverty_status"].notna()
    e["disabled"] = e["pid"].map(kids["is_disabled"]).fillna(False).astype(bool)
    e = e[e["in_household"] | e["disabled"]].copy()
    e["hardship_category"] = hardship_category(
        e["poverty_status"], e["monitoring_type"], e["disabled"], e["in_household"]
    )
    progs = []
    st, b = e["stage"], e["boarding"]
    compulsory = st.isin([PRI, JUN])
    rules = {
        "PRE_AID": st == PRE,
        "BOARD": compulsory & b,
        "NONBOARD": compulsory & ~b,
        "HS_GRANT": st == SEN,
        "HS_FEE": st == SEN,
        "VOC_GRANT": (st == VOC) & (e["grade"] <= 2),
        "VOC_FEE": st == VOC,
        "YULU": (st == VOC) & e["in_household"],
    }
    for code, mask in rules.items():
        x = e[mask].copy()
        x["program"] = code
        progs.append(x)
    ent = pd.concat(progs, ignore_index=True)
    ent["amount"] = [
        STANDARD_CENTS[(p, s)] for p, s in zip(ent["program"], ent["stage"], strict=True)
    ]
    return ent.sort_values(["term", "pid", "program"]).reset_index(drop=True)


def _declared_type(cat: pd.Series, term: pd.Series) -> pd.Series:
    """What a payment list writes in 困难类型 for a hardship category."""
    late = term >= TERMS.index("2021-spring")
    base = np.where(late, "脱贫户", "建档立卡")
    return pd.Series(
        np.where(cat == "监测户", "监测户", np.where(cat == "残疾", "残疾", base)), index=cat.index
    )


def _batch_dates(rng, term_idx: np.ndarray, batch: np.ndarray) -> np.ndarray:
    starts = np.array([np.datetime64(term_start(t)) for t in TERMS])[term_idx]
    lo = np.select([batch == 1, batch == 2, batch == 3], [40, 70, 100], 40)
    return starts + (lo + rng.integers(0, 20, len(batch))).astype("timedelta64[D]")


def build_payments(world: World, plants: PlantConfig, rng: np.random.Generator) -> Payments:
    people = world.people.set_index("pid")
    schools = world.schools
    planted: list[dict] = []
    used: set[int] = set()
    died_ever = set(people.index[people["died_on"].notna()])
    has_case = set(world.ledger["pid"])
    l_or_j = set(people.index[people["id_kind"].isin(["L", "J"])]) if "id_kind" in people else set()
    moved = set(people.index[people["hukou_moved_term"].fillna(-1) >= 0])
    avoid = died_ever | has_case | l_or_j | moved

    # -- plants that change the world: deaths in mid-term (PAID_AFTER_DEATH) ------------
    hardship = hardship_by_term(world)
    ent0 = entitlements(world, hardship)
    death_plants = _pick(
        rng, ent0[ent0["term"] < len(TERMS) - 1], plants.paid_after_death, used | avoid
    )
    death_dates = {}
    for row in death_plants.itertuples():
        start = term_start(TERMS[row.term])
        died = start + timedelta(days=int(rng.integers(50, 65)))
        death_dates[row.pid] = (row.term, died)
        _kill(world, row.pid, row.term, died, rng)
    hardship = hardship_by_term(world)
    ent = entitlements(world, hardship)

    # -- ordinary payments ---------------------------------------------------------------
    lines = ent[
        ["pid", "term", "program", "stage", "grade", "school", "amount", "hardship_category"]
    ].copy()
    lines["batch"] = np.where(rng.random(len(lines)) < 0.85, 1, 2)
    lines.loc[lines["program"] == "YULU", "batch"] = 4  # the rural-revitalisation office's list
    for pid, (term, _died) in death_dates.items():
        lines.loc[(lines["pid"] == pid) & (lines["term"] == term), "batch"] = 2
    lines["plant"] = ""
    missed = _pick(
        rng,
        ent.drop_duplicates(["pid", "term"]),
        plants.missed_eligible,
        used | avoid | set(death_dates),
    )
    drop_idx = []
    for row in missed.itertuples():
        progs = ent[(ent["pid"] == row.pid) & (ent["term"] == row.term)]["program"].tolist()
        prog = progs[int(rng.integers(0, len(progs)))]
        drop_idx += lines.index[
            (lines["pid"] == row.pid) & (lines["term"] == row.term) & (lines["program"] == prog)
        ].tolist()
        planted.append(_finding("MISSED_ELIGIBLE", row.pid, row.term, prog, row.school))
    lines = lines.drop(index=drop_idx)
    for pid, (term, died) in death_dates.items():
        for prog in lines[(lines["pid"] == pid) & (lines["term"] == term)]["program"]:
            planted.append(_finding("PAID_AFTER_DEATH", pid, term, prog, None, died_on=died))
            break

    extra = []
    paid = lines[lines["batch"].isin([1, 2])]
    pool = paid.drop_duplicates(["pid", "term"])
    taken = used | avoid | set(death_dates)

    # DUPLICATE_PAYMENT: the same line twice in one file, in two batches, from two schools
    for kind, count in (
        ("same_file", plants.duplicate_same_file),
        ("two_batches", plants.duplicate_two_batches),
    ):
        for row in _pick(rng, pool, count, taken).itertuples():
            line = lines.loc[row.Index].copy()
            if kind == "two_batches":
                line["batch"] = 2 if line["batch"] == 1 else 1
            line["plant"] = "DUPLICATE_PAYMENT"
            line["dup_of"] = row.Index
            extra.append(line)
            planted.append(
                _finding("DUPLICATE_PAYMENT", row.pid, row.term, row.program, row.school)
            )
    moved = _moved_schools(world)
    two = pool.merge(moved, on=["pid", "term"])
    for row in _pick(rng, two, plants.duplicate_two_schools, taken).itertuples():
        line = lines.loc[
            lines.index[
                (lines["pid"] == row.pid)
                & (lines["term"] == row.term)
                & (lines["program"] == row.program)
            ][0]
        ].copy()
        line["school"] = row.old_school
        line["plant"] = "DUPLICATE_PAYMENT"
        extra.append(line)
        planted.append(_finding("DUPLICATE_PAYMENT", row.pid, row.term, row.program, row.school))

    # look-alike: a duplicated line refunded in the correction batch (net one payment)
    for row in _pick(rng, pool, plants.refunded_duplicate, taken).itertuples():
        line = lines.loc[row.Index].copy()
        line["plant"] = "LOOKALIKE_REFUNDED_DUPLICATE"
        extra.append(line.copy())
        refund = line.copy()
        refund["amount"] = -refund["amount"]
        refund["batch"] = 3
        extra.append(refund)

    # AMOUNT_MISMATCH: a wrong amount on the student's only line of that programme
    for row in _pick(rng, pool, plants.amount_mismatch, taken).itertuples():
        wrong = {
            "BOARD": {PRI: 62500, JUN: 50000},
            "NONBOARD": {PRI: 31250, JUN: 25000},
        }.get(row.program, {}).get(row.stage, int(row.amount * 0.8))
        lines.loc[row.Index, "amount"] = wrong
        lines.loc[row.Index, "plant"] = "AMOUNT_MISMATCH"
        planted.append(_finding("AMOUNT_MISMATCH", row.pid, row.term, row.program, row.school))

    # STAGE_MISMATCH: a programme of another stage paid to an entitled student
    other = {JUN: ("HS_GRANT", SEN), SEN: ("VOC_GRANT", VOC), PRI: ("PRE_AID", PRE)}
    cand = pool[pool["stage"].isin(list(other))]
    for row in _pick(rng, cand, plants.stage_mismatch, taken).itertuples():
        prog, pstage = other[row.stage]
        line = lines.loc[row.Index].copy()
        line["program"], line["amount"], line["plant"] = (
            prog,
            STANDARD_CENTS[(prog, pstage)],
            "STAGE_MISMATCH",
        )
        extra.append(line)
        planted.append(_finding("STAGE_MISMATCH", row.pid, row.term, prog, row.school))

    # IDENTITY_CONFLICT: a second line whose ID fails its checksum; a line under another name
    for row in _pick(rng, pool, plants.identity_bad_checksum, taken).itertuples():
        line = lines.loc[row.Index].copy()
        bad = wrong_check_char(people.at[row.pid, "id_number"])
        line["id_override"], line["plant"] = bad, "IDENTITY_CONFLICT"
        extra.append(line)
        planted.append(
            _finding(
                "IDENTITY_CONFLICT",
                None,
                row.term,
                row.program,
                row.school,
                person_nk=bad,
                reason="checksum",
            )
        )
    for row in _pick(rng, pool, plants.identity_name_conflict, taken).itertuples():
        lines.loc[row.Index, "name_override"] = nm.other_given_name(rng, people.at[row.pid, "name"])
        lines.loc[row.Index, "plant"] = "IDENTITY_CONFLICT"
        planted.append(
            _finding("IDENTITY_CONFLICT", row.pid, row.term, row.program, row.school, reason="name")
        )

    # PAID_NOT_ENROLLED: hardship students suspended, transferred out or gone in the term
    enr_all = world.registry
    hs = hardship.drop_duplicates(["pid", "term"])[
        ["pid", "term", "poverty_status", "monitoring_type"]
    ]
    listed_not = enr_all[enr_all["status"].isin([SUSPENDED, TRANSFERRED])].merge(
        hs, on=["pid", "term"]
    )
    prev = enr_all[enr_all["status"] == ENROLLED][
        ["pid", "term", "school", "stage", "grade", "boarding"]
    ].copy()
    prev["term"] += 1
    present = enr_all[["pid", "term"]].drop_duplicates()
    gone = prev.merge(present, on=["pid", "term"], how="left", indicator=True)
    gone = gone[(gone["_merge"] == "left_only") & (gone["term"] < len(TERMS))].drop(
        columns="_merge"
    )
    gone = gone[gone["stage"].isin([PRI, JUN, SEN, VOC])].merge(hs, on=["pid", "term"])
    not_enr = pd.concat([listed_not, gone], ignore_index=True)
    not_enr = not_enr[not_enr["stage"].isin([PRI, JUN, SEN, VOC])]
    alive_all = ~not_enr["pid"].isin(died_ever | set(death_dates))
    chosen = _pick(rng, not_enr[alive_all], plants.paid_not_enrolled, taken - has_case)
    taken.update(chosen["pid"].tolist())
    for row in chosen.itertuples():
        prog = _program_for(row.stage, row.boarding)
        extra.append(_planted_line(row, prog, "PAID_NOT_ENROLLED", 1, hardship_category=_cat1(row)))
        planted.append(_finding("PAID_NOT_ENROLLED", row.pid, row.term, prog, row.school))

    # INELIGIBLE_RECIPIENT: enrolled, no registry confirms hardship, the list says 低保/一般困难
    enr = primary_enrollment(world.registry, schools)
    enr = enr[(enr["status"] == ENROLLED) & enr["stage"].isin([PRI, JUN, SEN])]
    confirmed = set(zip(hs["pid"], hs["term"], strict=True))
    dis = set(people.index[people["is_disabled"].fillna(False).astype(bool)])
    ok = [
        (p, t) not in confirmed and p not in dis
        for p, t in zip(enr["pid"], enr["term"], strict=True)
    ]
    inel = enr[ok]
    inel = inel[
        inel["pid"].map(people["id_kind"]).eq("G") & inel["pid"].map(people["county_hukou"])
    ]
    for row in _pick(rng, inel, plants.ineligible_recipient, taken).itertuples():
        prog = _program_for(row.stage, row.boarding)
        declared = rng.choice(["低保", "一般困难"])
        extra.append(
            _planted_line(
                row, prog, "INELIGIBLE_RECIPIENT", 2, hardship_category="", declared=declared
            )
        )
        planted.append(_finding("INELIGIBLE_RECIPIENT", row.pid, row.term, prog, row.school))

    lines = pd.concat([lines, pd.DataFrame(extra)], ignore_index=True)
    lines = _finish_lines(world, lines, rng, death_dates)
    lines = pd.concat([lines, _tertiary_lines(world, hardship, rng)], ignore_index=True)
    lines["line_id"] = np.arange(len(lines))

    # DUPLICATE_ENROLLMENT: a second 学籍 row at another school of the same stage
    dup_enr = _plant_duplicate_enrollments(world, plants.duplicate_enrollment, rng, taken)
    for pid, term, school in dup_enr:
        planted.append(_finding("DUPLICATE_ENROLLMENT", pid, term, None, school))

    planted_df = pd.DataFrame(planted)
    return Payments(
        lines=lines,
        hardship=hardship,
        entitlements=ent,
        planted=planted_df,
        notes={"death_plants": death_dates},
    )


# --------------------------------------------------------------------------- helpers
def _pick(rng, df: pd.DataFrame, count: int, taken: set) -> pd.DataFrame:
    """``count`` rows of distinct people not used by another plant (and mark them used)."""
    cand = df[~df["pid"].isin(taken)]
    cand = cand.iloc[rng.permutation(len(cand))].drop_duplicates("pid")  # any term, not the first
    if len(cand) < count:
        raise ValueError(f"not enough candidates for a plant: {len(cand)} < {count}")
    chosen = cand.iloc[np.sort(rng.choice(len(cand), count, replace=False))]
    taken.update(chosen["pid"].tolist())
    return chosen


def _planted_line(row, prog: str, plant: str, batch: int, **extra) -> pd.Series:
    """A payment line planted for a finding: the student's enrollment row (`row`: pid,
    term, stage, grade, school) paid the standard amount of `prog`."""
    return pd.Series(
        dict(
            pid=row.pid,
            term=row.term,
            program=prog,
            stage=row.stage,
            grade=row.grade,
            school=row.school,
            amount=STANDARD_CENTS[(prog, row.stage)],
            batch=batch,
            plant=plant,
            **extra,
        )
    )


def _finding(ftype, pid, term, program, school, **extra) -> dict:
    return dict(finding_type=ftype, pid=pid, term=term, program=program, school=school, **extra)


def _program_for(stage: int, boarding: bool) -> str:
    if stage in (PRI, JUN):
        return "BOARD" if boarding else "NONBOARD"
    return {SEN: "HS_GRANT", VOC: "VOC_GRANT", PRE: "PRE_AID"}[stage]


def _cat1(row) -> str:
    if isinstance(row.monitoring_type, str) and row.monitoring_type:
        return "监测户"
    return "脱贫户" if row.poverty_status == "已脱贫" else "建档立卡"


def _kill(world: World, pid: int, term: int, died: date, rng) -> None:
    """A planted death during ``term``: gone from later registries and households."""
    reg = world.registry
    later = (reg["pid"] == pid) & (reg["term"] > term)
    keep_row = reg[(reg["pid"] == pid) & (reg["term"] == term)].iloc[0].copy()
    world.registry = reg[~later]
    if term + 1 < len(TERMS) and rng.random() < 0.3:
        keep_row["term"], keep_row["status"] = term + 1, DECEASED
        world.registry = pd.concat(
            [world.registry, keep_row.to_frame().T.astype(reg.dtypes)], ignore_index=True
        )
    p = world.people
    p.loc[p["pid"] == pid, "died_on"] = pd.Timestamp(died)
    m = world.membership
    m.loc[m["pid"] == pid, "left_on"] = pd.Timestamp(died)


def _moved_schools(world: World) -> pd.DataFrame:
    """(pid, term) of students at another school than last term, same stage, with the old one."""
    r = world.registry[world.registry["status"] == ENROLLED][["pid", "term", "school", "stage"]]
    prev = r.assign(term=r["term"] + 1).rename(
        columns={"school": "old_school", "stage": "old_stage"}
    )
    x = r.merge(prev, on=["pid", "term"])
    return x[(x["school"] != x["old_school"]) & (x["stage"] == x["old_stage"])][
        ["pid", "term", "old_school"]
    ]


def _finish_lines(world: World, lines: pd.DataFrame, rng, death_dates) -> pd.DataFrame:
    people = world.people.set_index("pid")
    sch = world.schools
    lines = lines.reset_index(drop=True)
    lines["term"] = lines["term"].astype(int)
    lines["batch"] = lines["batch"].astype(int)
    lines["school_code"] = sch["school_code"].to_numpy()[lines["school"].astype(int)]
    lines["school_name"] = sch["school_name"].to_numpy()[lines["school"].astype(int)]
    lines["grade_label"] = [
        grade_label(int(s), int(g)) for s, g in zip(lines["stage"], lines["grade"], strict=True)
    ]
    idn = lines["pid"].map(people["id_number"])
    if "id_override" in lines:
        idn = lines["id_override"].where(lines["id_override"].notna(), idn)
    lines["id_number"] = idn
    name = lines["pid"].map(people["name"])
    if "name_override" in lines:
        name = lines["name_override"].where(lines["name_override"].notna(), name)
    lines["name"] = name
    declared = _declared_type(lines["hardship_category"].fillna(""), lines["term"])
    if "declared" in lines:
        declared = lines["declared"].where(lines["declared"].notna(), declared)
    lines["hardship_type"] = declared
    lines["student_number"] = np.where(rng.random(len(lines)) < 0.5, "G" + lines["id_number"], "")
    lines.loc[lines["id_override"].notna() if "id_override" in lines else [], "student_number"] = ""
    # payment dates: by batch; a planted death's term lines come after the death
    paid = _batch_dates(
        rng, lines["term"].to_numpy(), np.where(lines["batch"] == 4, 2, lines["batch"])
    )
    lines["paid_on"] = pd.to_datetime(paid)
    for pid, (term, died) in death_dates.items():
        m = (lines["pid"] == pid) & (lines["term"] == term)
        lines.loc[m, "paid_on"] = pd.Timestamp(died) + pd.Timedelta(days=int(rng.integers(5, 15)))
    method = {
        "BOARD": "一卡通",
        "NONBOARD": "一卡通",
        "PRE_AID": "一卡通",
        "HS_FEE": "冲抵学费",
        "VOC_FEE": "冲抵学费",
    }
    lines["method"] = lines["program"].map(method).fillna("银行卡")
    lines["file_key"] = [
        f"{TERMS[t]}|{'yulu' if b == 4 else b}"
        for t, b in zip(lines["term"], lines["batch"], strict=True)
    ]
    lines["batch_id"] = [
        (
            f"YL{TERMS[t][:4]}-{1 if is_autumn(TERMS[t]) else 2}"
            if b == 4
            else f"{TERMS[t][:4]}{'Q4' if is_autumn(TERMS[t]) else 'Q2'}-{b:02d}"
        )
        for t, b in zip(lines["term"], lines["batch"], strict=True)
    ]
    lines["university"] = ""
    return lines.drop(
        columns=[c for c in ("id_override", "name_override", "declared", "dup_of") if c in lines]
    )


def _tertiary_lines(world: World, hardship: pd.DataFrame, rng) -> pd.DataFrame:
    """University students: loans, entry grants and 雨露计划 (高职). Never in the 学籍."""
    kids = world.people[world.people["kind"] == "kid"].reset_index(drop=True)
    kids = kids[kids["county_hukou"] & (kids["id_kind"] == "G")]
    uni = np.array([u for u, _ in nm.UNIVERSITIES], dtype=object)
    in_prov = np.array([p for _, p in nm.UNIVERSITIES])
    choice = rng.integers(0, len(uni), len(kids))
    hh = set(zip(hardship["pid"], hardship["term"], strict=True))
    out = []
    for ti, term in enumerate(TERMS):
        k = school_year(term) - kids["cohort"].to_numpy() + 1
        stage, grade = _expected_stage(k, kids)
        alive = kids["died_on"].isna() | (kids["died_on"] > pd.Timestamp(term_start(term)))
        ter = (stage == TER) & alive.to_numpy()
        gaozhi = kids["track"].to_numpy() == VOC
        poor = np.array([(p, ti) in hh for p in kids["pid"]])
        base = dict(term=ti, stage=TER, hardship_category="", school=-1)
        sel = ter & gaozhi & poor
        for i in np.flatnonzero(sel):
            out.append(
                dict(
                    base,
                    pid=kids["pid"].iat[i],
                    grade=grade[i],
                    program="YULU",
                    amount=STANDARD_CENTS[("YULU", TER)],
                    batch=4,
                    uni=choice[i],
                )
            )
        if is_autumn(term):
            fresh = ter & (grade == 1) & poor
            for i in np.flatnonzero(fresh & (rng.random(len(kids)) < 0.8)):
                out.append(
                    dict(
                        base,
                        pid=kids["pid"].iat[i],
                        grade=1,
                        program="ENTRY",
                        amount=ENTRY_CENTS[bool(in_prov[choice[i]])],
                        batch=5,
                        uni=choice[i],
                    )
                )
            cap = LOAN_CAP_CENTS[school_year(term)]
            for i in np.flatnonzero(ter & (rng.random(len(kids)) < 0.3)):
                amt = (
                    int(rng.choice([cap - 200000, cap]))
                    if cap > 800000
                    else int(rng.choice([600000, 800000]))
                )
                out.append(
                    dict(
                        base,
                        pid=kids["pid"].iat[i],
                        grade=grade[i],
                        program="LOAN",
                        amount=amt,
                        batch=6,
                        uni=choice[i],
                    )
                )
    t = pd.DataFrame(out)
    people = world.people.set_index("pid")
    t["school_code"] = ""
    t["school_name"] = uni[t["uni"]]
    t["university"] = t["school_name"]
    t["grade_label"] = [grade_label(TER, int(g)) for g in t["grade"]]
    t["id_number"] = t["pid"].map(people["id_number"])
    t["name"] = t["pid"].map(people["name"])
    t["hardship_type"] = np.where(
        t["program"] == "LOAN", "", _declared_type(pd.Series("建档立卡", index=t.index), t["term"])
    )
    t["student_number"] = ""
    starts = np.array([np.datetime64(term_start(x)) for x in TERMS])[t["term"].to_numpy()]
    offs = np.select([t["program"] == "ENTRY", t["program"] == "LOAN"], [10, 30], 75)
    t["paid_on"] = pd.to_datetime(
        starts + (offs + rng.integers(0, 15, len(t))).astype("timedelta64[D]")
    )
    t["method"] = "银行卡"
    kinds = {4: "yulu", 5: "entry", 6: "loan"}
    t["file_key"] = [f"{TERMS[a]}|{kinds[b]}" for a, b in zip(t["term"], t["batch"], strict=True)]
    t["batch_id"] = [
        f"{kinds[b].upper()}{TERMS[a][:4]}" for a, b in zip(t["term"], t["batch"], strict=True)
    ]
    t["plant"] = ""
    return t.drop(columns=["uni"])


def _plant_duplicate_enrollments(world: World, count: int, rng, taken: set) -> list[tuple]:
    """Add a second 在读 row at another school of the same stage (重复学籍)."""
    reg = world.registry
    sch = world.schools
    cand = reg[(reg["status"] == ENROLLED) & reg["stage"].isin([PRI, JUN])]
    chosen = _pick(rng, cand, count, taken)
    new_rows, out = [], []
    for row in chosen.itertuples():
        same = [
            i
            for i, s in enumerate(sch["stages"])
            if row.stage in s and i != row.school and not isinstance(sch.at[i, "closes_from"], str)
        ]
        other = same[int(rng.integers(0, len(same)))]
        r = reg.loc[row.Index].copy()
        r["school"] = other
        new_rows.append(r)
        codes = sorted([sch.at[row.school, "school_code"], sch.at[other, "school_code"]])
        out.append((row.pid, row.term, codes[0]))
    world.registry = pd.concat([reg, pd.DataFrame(new_rows).astype(reg.dtypes)], ignore_index=True)
    return out


__all__ = [
    "PlantConfig",
    "build_payments",
    "entitlements",
    "hardship_by_term",
    "primary_enrollment",
]
