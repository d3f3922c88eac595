"""From the clean world to the landing folder: one file per snapshot month or payment batch.

This module decides *what* each file holds (records in canonical columns, clean values,
plus the lossy problems the world planted: mangled IDs, the partial first delivery of a
correction) and *which* format and encoding it comes in. ``render`` (the package) decides how the
values are spelled.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .payments import Payments
from .render import FileRequest, QuirkConfig, RenderedFile, render
from .terms import (
    TERMS,
    household_snapshot_month,
    ledger_snapshot_month,
    school_year,
    student_snapshot_month,
    term_cn,
    term_start,
)
from .world import (
    ENROLLED,
    STATUS_CN,
    World,
    grade_label,
    household_status_at,
    l_terms,
    members_at,
)

IN_SCHOOL_CN = {0: "学前教育", 1: "小学", 3: "普通高中", 4: "中职", 5: "本科及以上"}
JUNIOR_CN = ("七年级", "八年级", "九年级", "初一", "初二", "初三")
CORRECTION_TERM = "2021-spring"  # its poverty-registry export is delivered twice
# A file's delivery time: the generator stamps files so that "newest delivery" is defined.
DELIVERY_BASE = datetime(2019, 8, 15, 9, 0, 0)


@dataclass(frozen=True)
class ExportConfig:
    csv_only: bool = False
    mangled_adult_ids: float = 0.002  # adults' IDs destroyed by Excel (4.20399E+17)
    quirks: QuirkConfig = field(default_factory=QuirkConfig)


@dataclass
class Delivered:
    """What the generator wrote: rendered files and facts the truth needs about them."""

    files: list[dict] = field(default_factory=list)
    line_locations: pd.DataFrame | None = None
    mangled_members: set = field(default_factory=set)  # (pid, term index)
    correction_missing: set = field(default_factory=set)  # (pid,) missing in the first delivery


# --------------------------------------------------------------------------- format plan
FORMATS = {  # per source: one (format, encoding) per file, in order; cycled when longer
    "schools": [
        ("csv", "utf-8-sig"),
        ("csv", "gbk"),
        ("xls", None),
        ("csv", "utf-8"),
        ("xlsx", None),
        ("csv", "utf-8-sig"),
    ],
    "students": [
        ("csv", "gbk"),
        ("csv", "utf-8"),
        ("xlsx", None),
        ("csv", "gbk"),
        ("csv", "utf-8-sig"),
        ("csv", "utf-8"),
    ],
    "households": [
        ("xlsx", None),
        ("csv", "gbk"),
        ("xls", None),
        ("xlsx", None),
        ("csv", "utf-8"),
        ("csv", "gbk"),
        ("csv", "utf-8-sig"),
    ],
    "population": [
        ("csv", "utf-8"),
        ("csv", "gbk"),
        ("csv", "utf-8-sig"),
        ("csv", "utf-8"),
        ("csv", "gbk"),
        ("csv", "utf-8-sig"),
    ],
    "dropout_ledger": [
        ("xlsx", None),
        ("xls", None),
        ("csv", "gbk"),
        ("xlsx", None),
        ("csv", "utf-8"),
        ("xls", None),
    ],
    "disbursements": [
        ("csv", "gbk"),
        ("xlsx", None),
        ("csv", "utf-8"),
        ("xls", None),
        ("csv", "utf-8-sig"),
        ("xlsx", None),
        ("csv", "gbk"),
    ],
}
CSV_ENCODINGS = ("utf-8", "gbk", "utf-8-sig")
MONTH_SPELLINGS = ("{y}{m:02d}", "{y}-{m:02d}", "{y}年{m}月")


def _month_name(stem: str, when: date, k: int) -> str:
    return stem.format(month=MONTH_SPELLINGS[k % 3].format(y=when.year, m=when.month))


class Writer:
    """Renders the files of one county, in a fixed order, with deterministic seeds."""

    def __init__(self, world: World, landing: Path, seed: int, cfg: ExportConfig):
        self.world = world
        self.landing = landing
        self.seed = seed
        self.cfg = cfg
        self.counter = {s: 0 for s in FORMATS}
        self.delivered = Delivered()
        # a province's landing: each county's files in a folder of their own under each
        # source (the first county's at the top, as a county's own landing has them)
        self.folder = "" if world.county.idx == 0 else f"{world.county.name}/"
        self.queue: list[tuple[FileRequest, datetime, tuple[str, datetime] | None]] = []

    def name(self, path: Path) -> str:
        """A file's name as the ingest records it: its path under its source's folder."""
        return path.relative_to(self.landing).as_posix().split("/", 1)[1]

    def fmt(self, source: str) -> tuple[str, str | None]:
        i = self.counter[source]
        if self.cfg.csv_only:
            return "csv", CSV_ENCODINGS[(i + self.world.county.idx) % 3]
        plan = FORMATS[source]
        return plan[i % len(plan)]

    def write(
        self,
        source: str,
        stem: str,
        records: pd.DataFrame,
        delivered_at: datetime,
        copy_as: tuple[str, datetime] | None = None,
        **kw,
    ) -> int:
        """Queue one file; ``flush`` renders the queue. Returns the file's queue index."""
        fmt, enc = self.fmt(source)
        rotation = self.counter[source]
        self.counter[source] += 1
        excel = fmt in ("xlsx", "xls")
        if fmt == "xls" and "sheet_by" not in kw and len(records) > 60000:
            kw["sheet_by"] = "township" if "township" in records else None
        if not excel:
            for k in ("sheet_by", "hidden_sheet", "instructions_sheet", "merge_cells"):
                kw.pop(k, None)
        n = len(self.queue)
        req = FileRequest(
            source=source,
            file_stem=self.folder + stem,
            records=records,
            fmt=fmt,
            encoding=enc or "utf-8",
            quirk_seed=int(
                np.random.SeedSequence([self.seed, self.world.county.idx, n]).generate_state(1)[0]
            ),
            alias_rotation=rotation,
            **kw,
        )
        (self.landing / source).mkdir(parents=True, exist_ok=True)
        self.queue.append((req, delivered_at, copy_as))
        return n

    def flush(self, workers: int) -> list[RenderedFile]:
        """Render the queued files (in ``workers`` processes), stamp delivery times, copy."""
        reqs = [q[0] for q in self.queue]
        outs = [self.landing / r.source for r in reqs]
        cfgs = [self.cfg.quirks] * len(reqs)
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                # biggest first, so that the two processes finish together
                order = sorted(
                    range(len(reqs)),
                    key=lambda i: -len(reqs[i].records) * (8 if reqs[i].fmt != "csv" else 1),
                )
                done = dict(
                    zip(
                        order,
                        pool.map(
                            render,
                            [reqs[i] for i in order],
                            [outs[i] for i in order],
                            [cfgs[i] for i in order],
                        ),
                        strict=True,
                    )
                )
            rendered = [done[i] for i in range(len(reqs))]
        else:
            rendered = [render(r, o, c) for r, o, c in zip(reqs, outs, cfgs, strict=True)]
        for (req, delivered_at, copy_as), rf in zip(self.queue, rendered, strict=True):
            ts = delivered_at.timestamp()
            os.utime(rf.path, (ts, ts))
            self.delivered.files.append(
                dict(
                    source=req.source,
                    file_name=self.name(rf.path),
                    file_format=rf.fmt,
                    encoding=rf.encoding,
                    sheets="|".join(rf.sheets),
                    n_records=len(req.records),
                    stated_total=None if rf.stated_total is None else str(rf.stated_total),
                    delivered_at=delivered_at.isoformat(),
                    copy_of="",
                    quirks=dict(rf.quirks),
                    header="|".join(rf.header),
                )
            )
            if copy_as is not None:
                self._copy(rf, *copy_as)
        return rendered

    def _copy(self, rf: RenderedFile, new_name: str, delivered_at: datetime) -> None:
        """The same file dropped a second time under another name."""
        target = rf.path.with_name(new_name + rf.path.suffix)
        shutil.copyfile(rf.path, target)
        ts = delivered_at.timestamp()
        os.utime(target, (ts, ts))
        self.delivered.files.append(
            dict(
                source=rf.source,
                file_name=self.name(target),
                file_format=rf.fmt,
                encoding=rf.encoding,
                sheets="|".join(rf.sheets),
                n_records=0,
                stated_total=None,
                delivered_at=delivered_at.isoformat(),
                copy_of=self.name(rf.path),
                quirks={},
                header="|".join(rf.header),
            )
        )


def write_county(
    world: World, pay: Payments, landing: Path, seed: int, cfg: ExportConfig, workers: int = 1
) -> Delivered:
    w = Writer(world, landing, seed, cfg)
    rng = np.random.default_rng([seed, world.county.idx, 99])
    people = world.people.set_index("pid")
    cname = world.county.name
    for ti, term in enumerate(TERMS):
        snap = student_snapshot_month(term)
        at = datetime.combine(snap, datetime.min.time()) + timedelta(days=20, hours=ti)
        # schools
        w.write(
            "schools",
            _month_name("学校名录_{month}", snap, ti),
            _school_records(world, term),
            at,
            title=None if ti % 2 == 0 else f"{cname}学校名录（{term_cn(term)}）",
        )
        # students
        w.write(
            "students",
            _month_name("学籍信息_{month}", snap, ti),
            _student_records(world, people, ti, rng),
            at + timedelta(hours=1),
            copy_as=(_month_name("学籍信息_{month}", snap, ti) + "(1)", at + timedelta(days=3))
            if ti == 1
            else None,
            title=f"{cname}中小学学生学籍信息（{term_cn(term)}）",
            with_total=True,
            with_signoff=True,
            sheet_by="township",
            instructions_sheet=ti == 2,
        )
        # population
        w.write(
            "population",
            _month_name("适龄人口_{month}", snap, ti),
            _population_records(world, people, ti),
            at + timedelta(hours=2),
            title=None if ti % 3 else f"{cname}适龄人口信息",
        )
        # households: exported the month before the term
        hsnap = household_snapshot_month(term)
        hat = datetime.combine(hsnap, datetime.min.time()) + timedelta(days=25)
        recs = _household_records(
            world, people, ti, rng, w.delivered.mangled_members, cfg.mangled_adult_ids
        )
        kw = dict(
            title=f"{cname}建档立卡贫困人口信息表（{hsnap.year}年{hsnap.month}月）",
            subtitle=f"填报单位：{cname}乡村振兴局    导出日期：{hsnap.isoformat()}",
            sheet_by="township",
            merge_cells=True,
            instructions_sheet=True,
            hidden_sheet=ti % 2 == 0,
        )
        stem = _month_name("建档立卡贫困人口_{month}", hsnap, ti)
        if term == CORRECTION_TERM:
            keep = rng.random(len(recs)) >= 0.03
            w.delivered.correction_missing = set(recs.loc[~keep, "_pid"].tolist())
            w.write("households", stem, recs[keep], hat, **kw)
            w.write("households", stem + "_更正", recs, hat + timedelta(days=4), **kw)
        else:
            w.write("households", stem, recs, hat, **kw)
        # dropout ledger
        lsnap = ledger_snapshot_month(term)
        w.write(
            "dropout_ledger",
            _month_name("控辍保学台账_{month}", lsnap, ti),
            _ledger_records(world, people, ti),
            datetime.combine(lsnap, datetime.min.time()) + timedelta(days=26),
            title=None if ti % 2 == 0 else f"{cname}控辍保学工作台账",
        )
    pay_files = _write_payments(w, pay, cname)
    rendered = w.flush(workers)
    locs = []
    for n, line_ids in pay_files:
        loc = rendered[n].locations.reset_index(drop=True)
        locs.append(
            pd.DataFrame(
                {
                    "line_id": line_ids,
                    "source_file": w.name(rendered[n].path),
                    "sheet_name": loc["sheet_name"].to_numpy(),
                    "row_number": loc["row_number"].to_numpy(),
                }
            )
        )
    w.delivered.line_locations = pd.concat(locs, ignore_index=True)
    return w.delivered


# --------------------------------------------------------------------------- records
def _school_records(world: World, term: str) -> pd.DataFrame:
    s = world.schools
    closed = s["closes_from"].map(
        lambda x: isinstance(x, str) and TERMS.index(x) <= TERMS.index(term)
    )
    return pd.DataFrame(
        {
            "school_code": s["school_code"],
            "school_name": s["school_name"],
            "school_type": s["school_type"],
            "ownership": s["ownership"],
            "township": s["township"],
            "division_code": s["division_code"],
            "urban_rural": s["urban_rural"],
            "has_boarding": np.where(s["has_boarding"], "是", "否"),
            "status": np.where(closed, "撤并", "正常"),
        }
    )


def _per_unique(keys: np.ndarray, fn, dtype=object) -> np.ndarray:
    """``[fn(k) for k in keys]`` as an array, calling ``fn`` once per distinct key."""
    uniq, inv = np.unique(np.asarray(keys), return_inverse=True)
    out = np.empty(len(uniq), dtype=dtype)
    out[:] = [fn(k) for k in uniq]
    return out[inv.reshape(-1)]


def _student_records(world: World, people: pd.DataFrame, ti: int, rng) -> pd.DataFrame:
    term = TERMS[ti]
    r = world.registry[world.registry["term"] == ti].copy()
    sch = world.schools
    p = people.loc[r["pid"]]
    kind = p["id_kind"].to_numpy()
    cohort = p["cohort"].to_numpy().astype(int)
    in_l = (kind == "L") & _per_unique(cohort, lambda c: term in l_terms(c), bool)
    idn = p["id_number"].to_numpy().astype(object)
    number = np.where(
        kind == "J",
        p["j_number"],
        np.where(in_l, p["l_number"], "G" + pd.Series(idn).fillna("").to_numpy()),
    )
    idcol = np.where((kind == "J") | in_l, "", idn)
    stage = r["stage"].to_numpy()
    grade = r["grade"].to_numpy()
    start_year = school_year(term) - (grade - 1)
    enrolled = _per_unique(start_year, lambda y: date(int(y), 9, 1))
    rec = pd.DataFrame(
        {
            "school_code": sch["school_code"].to_numpy()[r["school"]],
            "school_name": sch["school_name"].to_numpy()[r["school"]],
            "student_number": number,
            "name": p["name"].to_numpy(),
            "sex": p["sex"].to_numpy(),
            "birth_date": pd.to_datetime(p["birth"]).dt.date.to_numpy(),
            "id_number": idcol,
            "grade": _per_unique(
                stage * 100 + grade, lambda k: grade_label(int(k // 100), int(k % 100))
            ),
            "class": rng.integers(1, 7, len(r)).astype(str),
            "enrolled_on": enrolled,
            "boarding": np.where(r["boarding"].to_numpy().astype(bool), "住校", "走读"),
            "status": _per_unique(r["status"].to_numpy(), lambda x: STATUS_CN[int(x)]),
            "hukou_township": np.where(p["county_hukou"].astype(bool), p["township"], "县外"),
            "is_disabled": np.where(p["is_disabled"].astype(bool), "是", "否"),
            "is_left_behind": np.where(rng.random(len(r)) < 0.2, "是", "否"),
            "township": sch["township"].to_numpy()[r["school"]],  # of the school: splits sheets
            "_pid": r["pid"].to_numpy(),
        }
    )
    order = np.lexsort((rng.random(len(rec)), rec["school_code"].to_numpy()))
    return rec.iloc[order].reset_index(drop=True)


def _population_records(world: World, people: pd.DataFrame, ti: int) -> pd.DataFrame:
    term = TERMS[ti]
    snap = pd.Timestamp(student_snapshot_month(term))
    k = people[(people["kind"] == "kid") & people["county_hukou"].astype(bool)]
    age = (snap - pd.to_datetime(k["birth"])).dt.days / 365.25
    k = k[(age >= 3) & (age < 18)]
    died = k["died_on"].notna() & (pd.to_datetime(k["died_on"]) < snap)
    moved = (k["hukou_moved_term"].fillna(-1) >= 0) & (k["hukou_moved_term"].fillna(99) <= ti)
    status = np.where(died, "死亡", np.where(moved, "迁出", "正常"))
    return (
        pd.DataFrame(
            {
                "id_number": k["id_number"].to_numpy(),
                "name": k["name"].to_numpy(),
                "sex": k["sex"].to_numpy(),
                "birth_date": pd.to_datetime(k["birth"]).dt.date.to_numpy(),
                "township": k["township"].to_numpy(),
                "village": k["village"].to_numpy(),
                "status": status,
                "died_on": [
                    d.date() if isinstance(d, pd.Timestamp) and s else None
                    for d, s in zip(pd.to_datetime(k["died_on"]), died, strict=True)
                ],
                "_pid": k.index.to_numpy(),
            }
        )
        .sort_values(["township", "village"], kind="mergesort")
        .reset_index(drop=True)
    )


def _in_school_status(world: World, ti: int) -> pd.Series:
    r = world.registry[(world.registry["term"] == ti) & (world.registry["status"] == ENROLLED)]
    r = r.drop_duplicates("pid")
    lab = []
    for s, g in zip(r["stage"], r["grade"], strict=True):
        if s == 2:
            lab.append(JUNIOR_CN[int(g) - 1])
        else:
            lab.append(IN_SCHOOL_CN.get(int(s), "非在校生"))
    return pd.Series(lab, index=r["pid"].to_numpy())


def _household_records(
    world: World, people: pd.DataFrame, ti: int, rng, mangled: set, rate: float
) -> pd.DataFrame:
    term = TERMS[ti]
    when = household_snapshot_month(term)
    hh = household_status_at(world.households, when)
    m = members_at(world.membership, when).merge(hh, on="household_id")
    p = people.loc[m["pid"]]
    in_school = _in_school_status(world, min(ti, len(TERMS) - 1))
    status = pd.Series(m["pid"].map(in_school)).fillna("非在校生").to_numpy()
    adult = (p["kind"] == "adult").to_numpy()
    health = np.where(
        p["is_disabled"].fillna(False).astype(bool),
        "残疾",
        np.where(
            adult & (rng.random(len(m)) < 0.15),
            "长期慢性病",
            np.where(adult & (rng.random(len(m)) < 0.03), "患有大病", "健康"),
        ),
    )
    idn = p["id_number"].to_numpy().astype(object).copy()
    mangle = adult & (rng.random(len(m)) < rate)
    for i in np.flatnonzero(mangle):
        idn[i] = f"{float(idn[i][:17] + '0'):.5E}"  # what Excel shows: 4.20399E+17
        mangled.add((int(m["pid"].iat[i]), ti))
    rec = pd.DataFrame(
        {
            "county": world.county.name,
            "township": m["township"].to_numpy(),
            "village": m["village"].to_numpy(),
            "household_id": m["household_id"].to_numpy(),
            "name": p["name"].to_numpy(),
            "id_number": idn,
            "relation": m["relation"].to_numpy(),
            "sex": p["sex"].to_numpy(),
            "in_school_status": status,
            "health": health,
            "household_attribute": m["household_attribute"].to_numpy(),
            "poverty_status": m["poverty_status"].to_numpy(),
            "identified_year": m["identified_year"].to_numpy(),
            "exit_year": m["exit_year_shown"].to_numpy(),
            "_pid": m["pid"].to_numpy(),
        }
    )
    if when >= date(2021, 1, 1):
        rec.insert(len(rec.columns) - 1, "monitoring_type", m["monitoring_type"].to_numpy())
    rel_order = {"户主": 0, "配偶": 1, "之子": 2, "之女": 2, "之儿媳": 3, "之孙子": 4, "之孙女": 4}
    rec["_o"] = rec["relation"].map(rel_order).fillna(9)
    rec = rec.sort_values(["township", "village", "household_id", "_o"], kind="mergesort")
    return rec.drop(columns="_o").reset_index(drop=True)


def ledger_view(world: World, ti: int) -> pd.DataFrame:
    """The ledger as exported in term ``ti``: cases recorded by the export date, each with
    its state on that date. Shared with the truth."""
    export = ledger_snapshot_month(TERMS[ti]) + timedelta(days=24)
    lg = world.ledger
    lg = lg[pd.to_datetime(lg["recorded_on"]) <= pd.Timestamp(export)].copy()
    closed = lg["closed_on"].notna() & (pd.to_datetime(lg["closed_on"]) <= pd.Timestamp(export))
    lg["shown_disposition"] = np.where(closed, lg["closed_disposition"], lg["disposition"])
    lg["shown_closed_on"] = lg["closed_on"].where(closed, None)
    return lg.sort_values(["recorded_on", "pid"], kind="mergesort")


def _ledger_records(world: World, people: pd.DataFrame, ti: int) -> pd.DataFrame:
    lg = ledger_view(world, ti)
    p = people.loc[lg["pid"]]
    reg = world.registry
    ret_school = []
    for pid, rt, disp in zip(lg["pid"], lg["return_term"], lg["shown_disposition"], strict=True):
        code = ""
        if disp == "劝返复学" and rt is not None and not pd.isna(rt):
            r = reg[(reg["pid"] == pid) & (reg["term"] == int(rt))]
            if len(r):
                code = world.schools.at[int(r["school"].iat[0]), "school_code"]
        ret_school.append(code)
    return pd.DataFrame(
        {
            "id_number": p["id_number"].to_numpy(),
            "name": p["name"].to_numpy(),
            "township": p["township"].to_numpy(),
            "case_type": lg["case_type"].to_numpy(),
            "disposition": lg["shown_disposition"].to_numpy(),
            "school_code": ret_school,
            "recorded_on": lg["recorded_on"].to_numpy(),
            "closed_on": [d if isinstance(d, date) else None for d in lg["shown_closed_on"]],
            "_pid": lg["pid"].to_numpy(),
        }
    )


# --------------------------------------------------------------------------- payments
def _write_payments(w: Writer, pay: Payments, cname: str) -> list[tuple[int, np.ndarray]]:
    """Queue one file per payment batch; returns (queue index, line ids in file order)."""
    lines = pay.lines
    files = []
    rng = np.random.default_rng([w.seed, w.world.county.idx, 7])
    for key in sorted(lines["file_key"].unique(), key=lambda k: (TERMS.index(k.split("|")[0]), k)):
        term, kind = key.split("|")
        part = lines[lines["file_key"] == key]
        part = part.iloc[np.lexsort((part["line_id"].to_numpy(), part["school_code"].to_numpy()))]
        rec = pd.DataFrame(
            {
                "term_code": term,
                "program": part["program"].to_numpy(),
                "school_code": part["school_code"].to_numpy(),
                "school_name": part["school_name"].to_numpy(),
                "name": part["name"].to_numpy(),
                "id_number": part["id_number"].to_numpy(),
                "student_number": part["student_number"].to_numpy(),
                "grade": part["grade_label"].to_numpy(),
                "hardship_type": part["hardship_type"].to_numpy(),
                "amount": part["amount"].to_numpy().astype(np.int64),
                "paid_on": pd.to_datetime(part["paid_on"]).dt.date.to_numpy(),
                "method": part["method"].to_numpy(),
                "batch_id": part["batch_id"].to_numpy(),
                "_line_id": part["line_id"].to_numpy(),
            }
        )
        if kind == "loan":
            rec["_full_year"] = rng.random(len(rec)) < 0.5
        label = term_cn(term)
        start = term_start(term)
        stem, title = {
            "yulu": (
                f"雨露计划补助发放名单_{label}",
                f"{cname}{label}雨露计划职业教育补助发放名单",
            ),
            "entry": (
                f"高校新生入学资助名单_{start.year}",
                f"{cname}{start.year}年高校新生入学资助名单",
            ),
            "loan": (
                f"生源地信用助学贷款发放名单_{start.year}",
                f"{cname}{start.year}年生源地信用助学贷款发放名单",
            ),
        }.get(
            kind,
            (f"{cname}{label}学生资助发放明细_第{kind}批", f"{cname}{label}学生资助发放明细表"),
        )
        at = datetime.combine(
            pd.Timestamp(part["paid_on"].max()).date(), datetime.min.time()
        ) + timedelta(days=2)
        copy_as = (
            (stem + " - 副本", at + timedelta(days=1))
            if (term, kind) == ("2020-autumn", "1")
            else None
        )
        n = w.write(
            "disbursements",
            stem,
            rec,
            at,
            copy_as=copy_as,
            title=title,
            subtitle=f"填报单位：{cname}教育局    填报日期：{at.date().isoformat()}",
            with_total=True,
            with_signoff=True,
        )
        files.append((n, rec["_line_id"].to_numpy()))
    return files


__all__ = ["Delivered", "ExportConfig", "ledger_view", "write_county"]
