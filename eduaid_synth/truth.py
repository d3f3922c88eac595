"""The truth: what a correct pipeline must conclude, computed from the clean world.

Nothing here reads the landing folder. Each table follows the contract's definitions
(``indicators.md``); where the contract leaves a choice, the rule is written in
``TRUTH_README`` and written beside the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .exports import Delivered, ledger_view
from .ids import valid_ids
from .payments import Payments, primary_enrollment
from .reference import finding_severities, status_codes
from .terms import TERMS, is_autumn, school_year, student_snapshot_month
from .world import (
    DECEASED,
    DROPPED,
    ENROLLED,
    FINAL_GRADE,
    GRADUATED,
    STAGES,
    STATUS_CN,
    SUSPENDED,
    TRANSFERRED,
    World,
    _age_at,
    grade_label,
)

# the enrollment status codes and the finding severities are the seeds' (the one vocabulary)
STATUS_CODE = {status: status_codes("students")[text] for status, text in STATUS_CN.items()}
ACCOUNTED = ("县外就读已取证", "送教上门", "延缓入学", "休学")
SEVERITY = finding_severities()
COMPULSORY_AGES = (6, 15)

TRUTH_README = (Path(__file__).with_name("truth_README.md")).read_text(encoding="utf-8")


@dataclass
class Truth:
    tables: dict[str, pd.DataFrame]


def compute(world: World, pay: Payments, delivered: Delivered) -> Truth:
    people = world.people.set_index("pid")
    sch = world.schools
    code = world.county.code
    nk = _person_keys(people)
    t: dict[str, pd.DataFrame] = {}

    enr = primary_enrollment(world.registry, sch)
    counts = world.registry.groupby(["pid", "term"]).size().rename("n_rows")
    enr = enr.merge(counts, left_on=["pid", "term"], right_index=True)
    enr["person_nk"] = enr["pid"].map(nk)
    enr["term_code"] = [TERMS[i] for i in enr["term"]]
    enr["stage_name"] = [STAGES[s] for s in enr["stage"]]
    enr["township"] = sch["township"].to_numpy()[enr["school"]]
    t["enrollments"] = pd.DataFrame(
        {
            "person_nk": enr["person_nk"],
            "term_code": enr["term_code"],
            "school_code": enr["school_code"],
            "stage": enr["stage_name"],
            "grade_number": enr["grade"],
            "grade_label": [
                grade_label(s, g) for s, g in zip(enr["stage"], enr["grade"], strict=True)
            ],
            "is_boarding": enr["boarding"].astype(bool),
            "enrollment_status": enr["status"].map(STATUS_CODE),
            "n_rows": enr["n_rows"],
            "is_disabled": enr["pid"].map(people["is_disabled"]).fillna(False).astype(bool),
        }
    )

    # households
    hh_rows, mem_rows = [], []
    hardship = pay.hardship  # planted duplicate enrollments change neither
    from .terms import household_snapshot_month
    from .world import household_status_at, members_at

    for ti, term in enumerate(TERMS):
        when = household_snapshot_month(term)
        h = household_status_at(world.households, when)
        # The export lists households through their members: one with no member
        # left (all died or moved) is not in it, so it has no status that term.
        h = h[h["household_id"].isin(members_at(world.membership, when)["household_id"])]
        hh_rows.append(
            pd.DataFrame(
                {
                    "household_id": h["household_id"],
                    "term_code": term,
                    "snapshot_month": when.isoformat()[:7],
                    "township": h["township"],
                    "village": h["village"],
                    "poverty_status": h["poverty_status"],
                    "household_attribute": h["household_attribute"],
                    "monitoring_type": h["monitoring_type"],
                    "identified_year": h["identified_year"],
                    "exit_year": h["exit_year_shown"],
                }
            )
        )
        m = hardship[hardship["term"] == ti]
        mem_rows.append(
            pd.DataFrame(
                {
                    "household_id": m["household_id"],
                    "term_code": term,
                    "person_nk": m["pid"].map(people["id_number"]),
                    "relation": m["relation"],
                    "is_id_readable": [(p, ti) not in delivered.mangled_members for p in m["pid"]],
                }
            )
        )
    t["household_status"] = pd.concat(hh_rows, ignore_index=True)
    t["household_members"] = pd.concat(mem_rows, ignore_index=True)

    # payment lines and entitlements
    lines = pay.lines.merge(delivered.line_locations, on="line_id", how="left")
    valid = pd.Series(valid_ids(lines["id_number"]), index=lines.index)
    lines["person_nk"] = np.where(valid, lines["id_number"], "")
    lines["amount_yuan"] = lines["amount"] / 100
    t["payment_lines"] = pd.DataFrame(
        {
            "line_id": lines["line_id"],
            "term_code": [TERMS[i] for i in lines["term"]],
            "program_code": lines["program"],
            "person_nk": lines["person_nk"],
            "id_number_delivered": lines["id_number"],
            "name_delivered": lines["name"],
            "school_code": lines["school_code"],
            "amount_yuan": lines["amount_yuan"].map("{:.2f}".format),
            "is_refund": lines["amount"] < 0,
            "paid_on": pd.to_datetime(lines["paid_on"]).dt.date,
            "batch_id": lines["batch_id"],
            "source_file": lines["source_file"],
            "sheet_name": lines["sheet_name"],
            "row_number": lines["row_number"],
            "plant": lines["plant"],
        }
    )

    # the school is the primary enrollment's (a planted duplicate may have changed it)
    ent = pay.entitlements.drop(columns=["school", "school_code"]).merge(
        enr[["pid", "term", "school", "school_code"]], on=["pid", "term"]
    )
    ent["person_nk"] = ent["pid"].map(nk)
    ent["term_code"] = [TERMS[i] for i in ent["term"]]
    net = (
        lines[valid]
        .groupby(["person_nk", "term", "program"])["amount"]
        .sum()
        .rename("net_cents")
        .reset_index()
    )
    ent = ent.merge(net, on=["person_nk", "term", "program"], how="left")
    ent["net_cents"] = ent["net_cents"].fillna(0).astype(int)
    ent["township"] = sch["township"].to_numpy()[ent["school"]]
    ent["stage_name"] = [STAGES[s] for s in ent["stage"]]
    ent["is_covered"] = ent["net_cents"] > 0
    t["entitlements"] = pd.DataFrame(
        {
            "person_nk": ent["person_nk"],
            "term_code": ent["term_code"],
            "program_code": ent["program"],
            "school_code": ent["school_code"],
            "township": ent["township"],
            "stage": ent["stage_name"],
            "hardship_category": ent["hardship_category"],
            "standard_yuan": (ent["amount"] / 100).map("{:.2f}".format),
            "net_paid_yuan": (ent["net_cents"] / 100).map("{:.2f}".format),
            "is_covered": ent["is_covered"],
        }
    )
    te = t["entitlements"]
    cov = (
        te.groupby(["term_code", "program_code", "township", "stage", "hardship_category"])
        .agg(entitled=("person_nk", "size"), covered=("is_covered", "sum"))
        .reset_index()
    )
    cov["coverage_rate"] = (cov["covered"] / cov["entitled"]).round(6)
    t["coverage_by_program"] = cov
    per = (
        te.groupby(
            ["person_nk", "term_code", "school_code", "township", "stage", "hardship_category"]
        )
        .agg(all_covered=("is_covered", "all"))
        .reset_index()
    )
    summ = (
        per.groupby(["term_code", "township", "school_code", "stage", "hardship_category"])
        .agg(entitled_students=("person_nk", "size"), fully_covered=("all_covered", "sum"))
        .reset_index()
    )
    summ["coverage_rate"] = (summ["fully_covered"] / summ["entitled_students"]).round(6)
    t["coverage_summary"] = summ

    # transitions, dropout, out-of-school children
    t["transitions"] = _transitions(world, enr, nk)
    t["dropout_cohort"], t["dropout_rates"] = _dropout(enr, t["transitions"], hardship, people)
    t["out_of_school_children"], t["open_ledger_cases"] = _out_of_school(
        world, enr, hardship, people
    )

    # persons
    reg_persons = enr.drop_duplicates("pid")[["pid", "person_nk"]]
    paid = lines[valid & lines["pid"].notna()].drop_duplicates("person_nk")[["pid", "person_nk"]]
    pp = pd.concat([reg_persons, paid]).drop_duplicates("person_nk")
    p = people.loc[pp["pid"].astype(int)]
    persons = pd.DataFrame(
        {
            "person_nk": pp["person_nk"].to_numpy(),
            "id_number": p["id_number"].fillna("").to_numpy(),
            "is_id_valid": p["id_number"].notna().to_numpy(),
            "name": p["name"].to_numpy(),
            "sex": p["sex"].to_numpy(),
            "birth_on": pd.to_datetime(p["birth"]).dt.date.to_numpy(),
            "is_in_registry": pp["pid"].isin(enr["pid"]).to_numpy(),
            "is_paid": pp["person_nk"].isin(lines["person_nk"]).to_numpy(),
        }
    )
    no_id = persons["person_nk"].str[0].isin(["J", "L"])
    persons.loc[no_id, ["id_number"]] = ""
    persons.loc[no_id, "is_id_valid"] = False
    bad = lines[~valid].drop_duplicates("id_number")
    persons = pd.concat(
        [
            persons,
            pd.DataFrame(
                {
                    "person_nk": bad["id_number"],
                    "id_number": bad["id_number"],
                    "is_id_valid": False,
                    "name": bad["name"],
                    "sex": "",
                    "birth_on": None,
                    "is_in_registry": False,
                    "is_paid": True,
                }
            ),
        ],
        ignore_index=True,
    )
    t["persons"] = persons

    t["findings"] = _findings(world, pay, lines, enr, nk, t)
    for df in t.values():
        df.insert(0, "county_code", code)
    return Truth(t)


def _person_keys(people: pd.DataFrame) -> pd.Series:
    kind = people["id_kind"].fillna("G")
    nk = people["id_number"].copy()
    nk[kind == "J"] = people.loc[kind == "J", "j_number"]
    never = (kind == "L") & people["cohort"].isin([2021])
    nk[never] = people.loc[never, "l_number"]
    return nk


def _transitions(world: World, enr: pd.DataFrame, nk: pd.Series) -> pd.DataFrame:
    people = world.people.set_index("pid")
    final_of = np.array([FINAL_GRADE[s] for s in range(len(STAGES))])
    out = []
    for ti in range(len(TERMS) - 1):
        cur = enr[enr["term"] == ti]
        nxt = (
            cur[["pid"]]
            .merge(enr.loc[enr["term"] == ti + 1, ["pid", "status"]], on="pid", how="left")[
                "status"
            ]
            .to_numpy()
        )
        snap = pd.Timestamp(student_snapshot_month(TERMS[ti + 1]))
        died = (pd.to_datetime(people["died_on"].reindex(cur["pid"])) < snap).to_numpy()
        # Only a death an export shows: the next term's population register lists the
        # county's children aged 3 to 17 (see exports._population_records); a pupil
        # from outside the county, or one of 18 or more, who dies is just gone from
        # the 学籍 (名在人不在), and the rules below decide what that is.
        who = people.reindex(cur["pid"])
        age_next = (snap - pd.to_datetime(who["birth"])).dt.days / 365.25
        registered = (who["kind"] == "kid") & who["county_hukou"].fillna(False).astype(bool)
        died &= (registered & (age_next >= 3) & (age_next < 18)).to_numpy()
        lg = ledger_view(world, ti + 1).drop_duplicates("pid", keep="last").set_index("pid")
        certified = (cur["pid"].map(lg["shown_disposition"]) == "县外就读已取证").to_numpy()
        st = cur["status"].to_numpy()
        final = (not is_autumn(TERMS[ti])) & (cur["grade"].to_numpy() == final_of[cur["stage"]])
        listed = ~pd.isna(nxt)
        n = np.where(listed, nxt, -1).astype(int)
        mapped = np.array([STATUS_CODE.get(x, "") for x in n], dtype=object)
        res = np.select(
            [
                np.isin(st, [TRANSFERRED, GRADUATED, DECEASED]),
                died | (n == DECEASED),
                (n == ENROLLED) & np.isin(st, [DROPPED, SUSPENDED]),
                (n == ENROLLED) & final & (st == ENROLLED),
                n == ENROLLED,
                listed,
                final & (st == ENROLLED),
                certified,
            ],
            [
                np.array([STATUS_CODE.get(x, "") for x in st], dtype=object),
                "deceased",
                "returned",
                "graduated",
                "continued",
                mapped,
                "graduated",
                "transferred_out",
            ],
            "dropped_out",
        )
        out.append(
            pd.DataFrame(
                {
                    "person_nk": cur["pid"].map(nk).to_numpy(),
                    "pid": cur["pid"].to_numpy(),
                    "term_code": TERMS[ti],
                    "next_term_code": TERMS[ti + 1],
                    "status_in_term": cur["status"].map(STATUS_CODE).to_numpy(),
                    "transition": res,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _is_hardship(
    hardship: pd.DataFrame, people: pd.DataFrame, pids: pd.Series, ti: int
) -> np.ndarray:
    members = pids.isin(hardship.loc[hardship["term"] == ti, "pid"]).to_numpy()
    dis = pids.map(people["is_disabled"]).fillna(False).astype(bool).to_numpy()
    return members | dis


def _dropout(enr, trans, hardship, people):
    rows = []
    tr = trans[["pid", "term_code", "transition"]]
    for ti, term in enumerate(TERMS):
        if not is_autumn(term):
            continue
        spring = TERMS[ti + 1] if ti + 1 < len(TERMS) else None
        partial = ti + 2 >= len(TERMS)
        start = enr[(enr["term"] == ti) & (enr["status"] == ENROLLED)]
        o = start[["pid"]].merge(
            tr[tr["term_code"] == term].drop(columns="term_code"), on="pid", how="left"
        )
        outs = [o["transition"].to_numpy()]
        if not partial:
            o2 = start[["pid"]].merge(
                tr[tr["term_code"] == spring].drop(columns="term_code"), on="pid", how="left"
            )
            outs.append(o2["transition"].to_numpy())
        excluded = np.zeros(len(start), bool)
        dropout = np.zeros(len(start), bool)
        for x in outs:
            excluded |= np.isin(x, ["deceased", "transferred_out"])
            dropout |= x == "dropped_out"
        rows.append(
            pd.DataFrame(
                {
                    "school_year": f"{school_year(term)}-{school_year(term) + 1}",
                    "person_nk": start["person_nk"].to_numpy(),
                    "school_code": start["school_code"].to_numpy(),
                    "township": start["township"].to_numpy(),
                    "stage": start["stage_name"].to_numpy(),
                    "grade_number": start["grade"].to_numpy(),
                    "is_hardship": _is_hardship(hardship, people, start["pid"], ti),
                    "is_excluded": excluded,
                    "is_dropout": dropout,
                    "is_partial_year": partial,
                }
            )
        )
    cohort = pd.concat(rows, ignore_index=True)
    rates = []
    for variant in ("default", "lianji"):
        c = cohort if variant == "lianji" else cohort[~cohort["is_excluded"]]
        num = c["is_dropout"] & ~(c["is_excluded"]) if variant == "default" else c["is_dropout"]
        c = c.assign(num=num)
        for stage_key, grp in [("all", c), *c.groupby("stage")]:
            g = grp.groupby("school_year").agg(enrolled=("num", "size"), dropouts=("num", "sum"))
            g = g.reset_index().assign(stage=stage_key, variant=variant)
            rows2 = g
            rows2["dropout_rate"] = (rows2["dropouts"] / rows2["enrolled"]).round(8)
            rows2["consolidation_rate"] = np.where(
                stage_key in ("primary", "junior"), (1 - rows2["dropout_rate"]).round(8), np.nan
            )
            rates.append(rows2)
    rates_df = pd.concat(rates, ignore_index=True)[
        [
            "school_year",
            "stage",
            "variant",
            "enrolled",
            "dropouts",
            "dropout_rate",
            "consolidation_rate",
        ]
    ]
    return cohort, rates_df


def _out_of_school(world, enr, hardship, people):
    kids = people[(people["kind"] == "kid") & people["county_hukou"].astype(bool)]
    rows, open_rows = [], []
    for ti, term in enumerate(TERMS):
        snap = pd.Timestamp(student_snapshot_month(term))
        age_now = (snap - pd.to_datetime(kids["birth"])).dt.days / 365.25
        pop = kids[(age_now >= 3) & (age_now < 18)]
        died = pop["died_on"].notna() & (pd.to_datetime(pop["died_on"]) < snap)
        moved = (pop["hukou_moved_term"].fillna(-1) >= 0) & (
            pop["hukou_moved_term"].fillna(99) <= ti
        )
        pop = pop[~died & ~moved]
        age = _age_at(pd.to_datetime(pop["birth"]).to_numpy(), school_year(term))
        pop = pop[(age >= COMPULSORY_AGES[0]) & (age <= COMPULSORY_AGES[1])]
        age = _age_at(pd.to_datetime(pop["birth"]).to_numpy(), school_year(term))
        enrolled = set(enr.loc[(enr["term"] == ti) & (enr["status"] == ENROLLED), "pid"])
        lg = ledger_view(world, ti)
        latest = lg.drop_duplicates("pid", keep="last").set_index("pid")["shown_disposition"]
        disp = pd.Series(pop.index).map(latest)
        oos = ~pop.index.isin(list(enrolled)) & ~pd.Series(disp).isin(ACCOUNTED).to_numpy()
        sel = pop[oos]
        rows.append(
            pd.DataFrame(
                {
                    "person_nk": sel["id_number"].to_numpy(),
                    "term_code": term,
                    "township": sel["township"].to_numpy(),
                    "village": sel["village"].to_numpy(),
                    "age": age[oos],
                    "is_hardship": _hardship_members(hardship, sel.index, ti),
                    "ledger_disposition": pd.Series(disp)[oos].fillna("").to_numpy(),
                }
            )
        )
        # open cases by township and age
        export = lg[lg["shown_closed_on"].isna()]
        p = people.loc[export["pid"]]
        a = _age_at(pd.to_datetime(p["birth"]).to_numpy(), school_year(term))
        oc = pd.DataFrame({"township": p["township"].to_numpy(), "age": a})
        oc = oc.groupby(["township", "age"]).size().rename("open_cases").reset_index()
        open_rows.append(oc.assign(term_code=term))
    return (
        pd.concat(rows, ignore_index=True),
        pd.concat(open_rows, ignore_index=True)[["term_code", "township", "age", "open_cases"]],
    )


def _hardship_members(hardship, pids, ti) -> np.ndarray:
    return pd.Index(pids).isin(hardship.loc[hardship["term"] == ti, "pid"])


def _findings(world, pay, lines, enr, nk, t) -> pd.DataFrame:
    pl = pay.planted.copy()
    out = []
    by_plant = lines[lines["plant"] != ""]
    for f in pl.itertuples():
        term = TERMS[int(f.term)]
        ftype = f.finding_type
        person = f.person_nk if isinstance(getattr(f, "person_nk", None), str) else nk.get(f.pid)
        if ftype == "PAID_AFTER_DEATH":
            sel = lines[(lines["pid"] == f.pid) & (lines["term"] == f.term)]
        elif ftype == "DUPLICATE_PAYMENT":
            sel = lines[
                (lines["pid"] == f.pid)
                & (lines["term"] == f.term)
                & (lines["program"] == f.program)
                & (lines["amount"] > 0)
            ]
        elif ftype in ("MISSED_ELIGIBLE", "DUPLICATE_ENROLLMENT"):
            sel = lines.iloc[0:0]
        elif ftype == "IDENTITY_CONFLICT" and getattr(f, "reason", "") == "checksum":
            sel = by_plant[(by_plant["id_number"] == f.person_nk) & (by_plant["term"] == f.term)]
        else:
            sel = by_plant[
                (by_plant["pid"] == f.pid)
                & (by_plant["term"] == f.term)
                & (by_plant["plant"] == ftype)
            ]
        if ftype not in ("MISSED_ELIGIBLE", "DUPLICATE_ENROLLMENT") and sel.empty:
            raise AssertionError(f"planted {ftype} has no payment line: {f}")
        school = (
            f.school
            if isinstance(f.school, str)
            else (
                sel["school_code"].iat[0]
                if len(sel)
                else world.schools.at[int(f.school), "school_code"]
                if not pd.isna(f.school)
                else ""
            )
        )
        out.append(
            dict(
                finding_type=ftype,
                term_code=term,
                person_nk=person,
                program_code=f.program if isinstance(f.program, str) else "",
                school_code=school,
                reason=getattr(f, "reason", "") or "",
                line_ids="|".join(map(str, sorted(sel["line_id"].tolist()))),
                source_files="|".join(sorted(set(sel["source_file"].dropna()))),
                source_rows="|".join(
                    f"{a}:{b}" for a, b in zip(sel["source_file"], sel["row_number"], strict=True)
                ),
            )
        )
    f = pd.DataFrame(out)
    # the mechanical ones: must agree with what was planted
    missed = t["entitlements"][~t["entitlements"]["is_covered"]]
    mech = set(zip(missed["person_nk"], missed["term_code"], missed["program_code"], strict=True))
    planted = set(
        zip(
            *[
                f.loc[f["finding_type"] == "MISSED_ELIGIBLE", c]
                for c in ("person_nk", "term_code", "program_code")
            ],
            strict=True,
        )
    )
    if mech != planted:
        raise AssertionError(f"MISSED_ELIGIBLE differs from the plants: {len(mech ^ planted)} rows")
    oos = t["out_of_school_children"]
    f = pd.concat(
        [
            f,
            pd.DataFrame(
                {
                    "finding_type": "OUT_OF_SCHOOL_CHILD",
                    "term_code": oos["term_code"],
                    "person_nk": oos["person_nk"],
                    "program_code": "",
                    "school_code": "",
                    "reason": "",
                    "line_ids": "",
                    "source_files": "",
                    "source_rows": "",
                }
            ),
        ],
        ignore_index=True,
    )
    f["severity"] = f["finding_type"].map(SEVERITY)
    f["finding_nk"] = f["finding_type"] + "|" + f["term_code"] + "|" + f["person_nk"]
    if f["finding_nk"].duplicated().any():
        raise AssertionError("a person counts once per finding type and term")
    return f


def write(truth: Truth, folder: Path) -> None:
    """Each table as `<folder>/<table>/county.parquet` (zstd); generate() files each
    county's under its number, so that a table is the folder of its counties' parts.
    Every column is text, cast by Arrow as its CSV writer would write it, so a table
    reads back as the CSV tables did (read_table)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(TRUTH_README, encoding="utf-8")
    for name, df in truth.tables.items():
        write_table(folder, name, df.drop(columns=[c for c in ("pid",) if c in df]))


def write_table(folder: Path, name: str, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = pa.table(
        [pc.cast(column, pa.string()) for column in table.columns], names=table.column_names
    )
    (folder / name).mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name / "county.parquet", compression="zstd")


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A truth table, every value text and a missing one "" (its parts in county order)."""
    parts = sorted((Path(folder) / name).glob("*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no truth table {name!r} in {folder}")
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    return table.to_pandas().fillna("")


__all__ = ["TRUTH_README", "Truth", "compute", "read_table", "write", "write_table"]
