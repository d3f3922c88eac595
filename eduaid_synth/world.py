"""The clean simulated world of one county: people, households, schools and school careers.

Everything here is the generator's ground truth. The exports (``exports.py``) render it
with the contract's quirks; the truth (``truth.py``) is computed from it directly.

The simulation is vectorised over people and loops over the six terms only, so a
county of ~70,000 children takes a second or two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import names as nm
from .ids import make_ids
from .reference import read_seed
from .terms import TERMS, school_year, term_start

# Registry status codes (学籍状态) used inside the simulation.
ABSENT, ENROLLED, SUSPENDED, TRANSFERRED, DROPPED, GRADUATED, DECEASED = range(7)
STATUS_CN = {
    ENROLLED: "在读",
    SUSPENDED: "休学",
    TRANSFERRED: "转出",
    DROPPED: "辍学",
    GRADUATED: "毕业",
    DECEASED: "死亡",
}


def _stages() -> tuple[str, ...]:
    """The stage codes in the order of seeds/stages.csv (the index is the stage number)."""
    rows = sorted(read_seed("stages.csv"), key=lambda r: int(r["stage_order"]))
    return tuple(r["stage"] for r in rows)


STAGES = _stages()
NO_STAGE = -1
PRE, PRI, JUN, SEN, VOC, TER = range(6)
GRADE_LABELS = {
    PRE: ("小班", "中班", "大班"),
    PRI: ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    JUN: ("七年级", "八年级", "九年级"),
    SEN: ("高一", "高二", "高三"),
    VOC: ("中职一年级", "中职二年级", "中职三年级"),
    TER: ("大一", "大二", "大三", "大四"),
}
FINAL_GRADE = {PRE: 3, PRI: 6, JUN: 3, SEN: 3, VOC: 3, TER: 4}


@dataclass(frozen=True)
class WorldConfig:
    """Rates of the simulated life events (per term unless said otherwise)."""

    cohort_size: int = 3550  # children per birth year with county hukou
    non_county_share: float = 0.05  # pupils whose hukou is elsewhere (no population record)
    preschool_rate: float = 0.8
    poor_family_rate: float = 0.28
    disabled_rate: float = 0.015
    after_junior: tuple[float, float, float] = (0.58, 0.37, 0.05)  # senior, vocational, leave
    university_rate: float = 0.6  # of senior graduates
    gaozhi_rate: float = 0.25  # of vocational graduates (高职: YULU as tertiary)
    out_of_county_rate: float = 0.01  # county children schooled elsewhere from the start
    out_of_county_ledger: float = 0.7  # of those, certified in the ledger (县外就读已取证)
    never_enrolled_rate: float = 0.002
    deferred_entry_rate: float = 0.003  # 延缓入学: enters primary a year late
    death: float = 0.0002
    dropout: tuple[float, ...] = (0.0, 0.0015, 0.005, 0.008, 0.012, 0.0)  # by stage
    dropout_return: float = 0.5  # compulsory-age dropouts persuaded back (劝返)
    dropout_unrecorded: float = 0.2  # dropouts the ledger never records
    suspension: float = 0.001
    transfer_out: float = 0.003
    transfer_in_county: float = 0.015
    dropped_shown: float = 0.4  # share of dropouts still listed with status 辍学
    dead_shown: float = 0.3
    transfer_shown: float = 0.5
    graduate_shown: float = 0.2
    hukou_moves_with_transfer: float = 0.4
    boarding: tuple[float, ...] = (0.0, 0.25, 0.6, 0.9, 0.85, 0.0)  # by stage, boarding schools
    exit_years: tuple[tuple[int, float], ...] = (
        (2016, 0.10),
        (2017, 0.15),
        (2018, 0.20),
        (2019, 0.25),
        (2020, 0.30),
    )
    relapse_rate: float = 0.015  # 返贫 from 2021
    unstable_rate: float = 0.05  # 脱贫不稳定户 from 2021
    send_home_rate: float = 0.1  # of disabled compulsory-age pupils: 送教上门


@dataclass
class County:
    idx: int
    code: str
    name: str
    size: float
    townships: tuple[str, ...]
    villages: dict[str, tuple[str, ...]]


@dataclass
class World:
    county: County
    people: pd.DataFrame  # every person: kids and household adults
    households: pd.DataFrame  # one row per household
    membership: pd.DataFrame  # household_id, pid, relation, joined_on, left_on
    schools: pd.DataFrame  # one row per school
    registry: pd.DataFrame  # 学籍 rows: pid, term, school, stage, grade, boarding, status
    ledger: pd.DataFrame  # dropout-control cases
    notes: dict = field(default_factory=dict)


def make_county(idx: int, rng: np.random.Generator) -> County:
    if idx == 0:
        code, name, size = "420399", "示范县", 1.0
    else:
        city, cnty = 1 + (idx - 1) // 40, 21 + (idx - 1) % 40
        code, name, size = f"42{city:02d}{cnty:02d}", f"示范{idx}县", float(rng.uniform(0.7, 1.3))
    villages = {}
    for t_i, t in enumerate(nm.TOWNSHIPS):
        k = 8 + (t_i * 3) % 6
        stems = [nm.VILLAGE_STEMS[(t_i * 7 + j) % len(nm.VILLAGE_STEMS)] for j in range(k)]
        villages[t] = tuple(dict.fromkeys(f"{s}村" for s in stems))
    return County(idx, code, name, size, nm.TOWNSHIPS, villages)


# --------------------------------------------------------------------------- schools
def make_schools(county: County) -> pd.DataFrame:
    """Kindergartens, primaries, juniors and nine-year schools per township; the county
    town holds the high schools, the vocational centre and the special school."""
    rows = []
    seq = {1: 0, 2: 0, 3: 0}

    def add(
        prefix: int,
        name: str,
        school_type: str,
        township: str,
        stages: tuple[int, ...],
        boarding: bool,
        urban: str,
        closes: str | None = None,
    ) -> None:
        seq[prefix] += 1
        rows.append(
            dict(
                school_code=f"{prefix}1{county.code}{seq[prefix]:02d}",
                school_name=name,
                school_type=school_type,
                township=township,
                stages=stages,
                has_boarding=boarding,
                urban_rural=urban,
                closes_from=closes,
                ownership="公办",
            )
        )

    cn = county.name
    for t_i, t in enumerate(county.townships):
        urban = "111" if t_i == 0 else "220"
        short = t[:-1]
        add(1, f"{cn}{short}中心幼儿园", "幼儿园", t, (PRE,), False, urban)
        add(1, f"{cn}{short}{county.villages[t][0][:-1]}幼儿园", "幼儿园", t, (PRE,), False, urban)
        if t_i in (8, 9):
            add(2, f"{cn}{short}九年一贯制学校", "九年一贯制学校", t, (PRI, JUN), True, urban)
        else:
            add(2, f"{cn}{short}中心小学", "小学", t, (PRI,), True, urban)
            add(2, f"{cn}{short}初级中学", "初级中学", t, (JUN,), True, urban)
        v1, v2 = county.villages[t][1][:-1], county.villages[t][2][:-1]
        # the one school merged away (撤并) in the simulated years: 中峰镇's second village school
        add(
            2,
            f"{cn}{short}{v1}小学",
            "小学",
            t,
            (PRI,),
            False,
            urban,
            closes="2020-autumn" if t_i == 1 else None,
        )
        add(2, f"{cn}{short}{v2}小学", "小学", t, (PRI,), False, urban)
    t0 = county.townships[0]
    add(2, f"{cn}第二初级中学", "初级中学", t0, (JUN,), True, "111")
    add(3, f"{cn}第一高级中学", "高级中学", t0, (SEN,), True, "111")
    add(3, f"{cn}第二高级中学", "完全中学", t0, (SEN,), True, "111")
    add(3, f"{cn}职业技术教育中心", "中等职业学校", t0, (VOC,), True, "111")
    add(3, f"{cn}特殊教育学校", "特殊教育学校", t0, (), True, "111")
    df = pd.DataFrame(rows)
    df["division_code"] = [
        f"{county.code}{county.townships.index(t) * 2 + 100:03d}000" for t in df["township"]
    ]
    return df


def _school_pools(schools: pd.DataFrame, townships: tuple[str, ...], term: str) -> dict:
    """Open schools per (stage, township index) at a term: list of school row indices."""
    pools: dict[tuple[int, int], list[int]] = {}
    for i, row in schools.iterrows():
        closes = row["closes_from"]
        if isinstance(closes, str) and TERMS.index(closes) <= TERMS.index(term):
            continue
        for s in row["stages"]:
            pools.setdefault((s, townships.index(row["township"])), []).append(i)
    return pools


def _assign(rng, pools, stage: np.ndarray, township: np.ndarray, county_wide: dict) -> np.ndarray:
    """Draw a school for each (stage, township); senior/vocational are county-wide."""
    out = np.full(len(stage), -1, dtype=np.int32)
    for (s, t), lst in pools.items():
        if s in county_wide:
            continue
        m = (stage == s) & (township == t)
        if m.any():
            out[m] = np.array(lst)[rng.integers(0, len(lst), m.sum())]
    for s, lst in county_wide.items():
        m = stage == s
        if m.any():
            out[m] = np.array(lst)[rng.integers(0, len(lst), m.sum())]
    return out


# --------------------------------------------------------------------------- people
def _random_dates(rng, years: np.ndarray) -> np.ndarray:
    start = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return start + rng.integers(0, 365, len(years)).astype("timedelta64[D]")


def _unique_seq(rng, birth: np.ndarray, male: np.ndarray, base: int) -> np.ndarray:
    """3-digit ID sequence numbers, unique per birth date and sex; odd for men."""
    order = rng.permutation(len(birth))
    key = pd.Series(birth[order].astype("int64") * 2 + male[order].astype(int))
    rank = key.groupby(key).cumcount().to_numpy()
    seq = np.empty(len(birth), dtype=np.int64)
    seq[order] = base + rank * 2 + male[order].astype(int)
    if (seq > 999).any():
        raise ValueError("too many people born on one day for 3-digit ID sequences")
    return seq


def _elsewhere(county: County, place: np.ndarray) -> np.ndarray:
    """Area codes of the five places a county's pupils from elsewhere are registered in.
    ID sequences are unique within a county only, so in a landing of many counties each
    county's pupils from elsewhere come from places of their own: no two counties give
    one ID number to two people (the demo county keeps 420102…420502)."""
    if county.idx == 0:
        return 420102 + place * 100
    return 600000 + county.idx * 10 + place


def simulate(county: County, cfg: WorldConfig, rng: np.random.Generator) -> World:
    n_year = max(50, round(cfg.cohort_size * county.size))
    birth_years = np.arange(1998, 2019)
    n_kids = n_year * len(birth_years)
    kid_year = np.repeat(birth_years, n_year)
    birth = _random_dates(rng, kid_year)
    male = rng.random(n_kids) < 0.52
    county_hukou = rng.random(n_kids) >= cfg.non_county_share
    t_idx = rng.integers(0, len(county.townships), n_kids)
    village = np.empty(n_kids, dtype=object)
    for ti, t in enumerate(county.townships):
        m = t_idx == ti
        vs = np.array(county.villages[t], dtype=object)
        village[m] = vs[rng.integers(0, len(vs), m.sum())]
    area = np.where(county_hukou, int(county.code), _elsewhere(county, rng.integers(0, 5, n_kids)))
    ids = make_ids(area, birth, _unique_seq(rng, birth, male, base=0))

    # families: consecutive kids of one village, 1-3 children each, sharing a surname
    order = np.lexsort((rng.random(n_kids), village, t_idx))
    sizes = rng.choice([1, 2, 3], size=n_kids, p=[0.45, 0.4, 0.15])
    fam_of_pos = np.repeat(np.arange(n_kids), sizes)[:n_kids]
    family = np.empty(n_kids, dtype=np.int64)
    family[order] = fam_of_pos
    # keep families inside one village: split where the village changes
    vk = pd.Series(village[order]).astype(str).to_numpy()
    breaks = np.r_[True, (fam_of_pos[1:] != fam_of_pos[:-1]) | (vk[1:] != vk[:-1])]
    family[order] = np.cumsum(breaks) - 1
    n_fam = family.max() + 1
    fam_surname = nm.draw_surnames(rng, n_fam)
    names = nm.draw_names(rng, n_kids, fam_surname[family])
    fam_poor = rng.random(n_fam) < cfg.poor_family_rate
    poor = fam_poor[family] & county_hukou

    # education tracks
    bdi = pd.DatetimeIndex(birth)
    on_time = (bdi.month < 9) | ((bdi.month == 9) & (bdi.day == 1))  # 6 by 1 September
    cohort = kid_year + np.where(on_time, 6, 7)  # autumn of primary entry
    deferred = rng.random(n_kids) < cfg.deferred_entry_rate
    cohort = cohort + deferred
    u = rng.random(n_kids)
    p_sen, p_voc, _ = cfg.after_junior
    track = np.where(u < p_sen, SEN, np.where(u < p_sen + p_voc, VOC, NO_STAGE))
    goes_on = rng.random(n_kids)
    tertiary = np.where(
        track == SEN,
        goes_on < cfg.university_rate,
        np.where(track == VOC, goes_on < cfg.gaozhi_rate, False),
    )
    preschool = rng.random(n_kids) < cfg.preschool_rate
    out_of_county = county_hukou & (rng.random(n_kids) < cfg.out_of_county_rate)
    never = county_hukou & ~out_of_county & (rng.random(n_kids) < cfg.never_enrolled_rate)
    disabled = rng.random(n_kids) < cfg.disabled_rate

    # student-number kinds: J (no ID at all) and L (temporary, replaced by a G number)
    id_kind = np.full(n_kids, "G", dtype=object)
    nc = ~county_hukou
    id_kind[nc & (rng.random(n_kids) < 0.15)] = "J"
    l_cand = (
        nc & (id_kind == "G") & np.isin(cohort, [2019, 2020, 2021]) & (rng.random(n_kids) < 0.4)
    )
    id_kind[l_cand] = "L"
    preschool[l_cand] = False
    disabled[id_kind != "G"] = False
    birth_str = pd.Series(birth).dt.strftime("%Y%m%d").to_numpy().astype(object)
    tail = pd.Series(rng.integers(0, 10000, n_kids)).map("{:04d}".format).to_numpy().astype(object)
    j_no = "J" + pd.Series(area).astype(str).to_numpy().astype(object) + birth_str + tail
    l_no = "L" + pd.Series(area).astype(str).to_numpy().astype(object) + birth_str + tail

    kids = pd.DataFrame(
        {
            "pid": np.arange(n_kids),
            "id_number": ids,
            "name": names,
            "sex": np.where(male, "男", "女"),
            "birth": birth,
            "township_idx": t_idx,
            "township": np.array(county.townships, dtype=object)[t_idx],
            "village": village,
            "county_hukou": county_hukou,
            "family": family,
            "poor": poor,
            "cohort": cohort,
            "deferred": deferred,
            "track": track,
            "tertiary": tertiary,
            "preschool": preschool,
            "out_of_county": out_of_county,
            "never_enrolled": never,
            "is_disabled": disabled,
            "id_kind": id_kind,
            "j_number": j_no,
            "l_number": l_no,
            "kind": "kid",
        }
    )
    kids.loc[kids["id_kind"] == "J", "id_number"] = None

    schools = make_schools(county)
    registry, deaths, ledger, careers = _simulate_careers(county, cfg, rng, kids, schools)
    _settle_l_numbers(kids, registry)
    kids["died_on"] = pd.to_datetime(pd.Series(deaths)).reindex(kids.index)
    kids["hukou_moved_term"] = careers["hukou_moved_term"]
    kids["send_home"] = careers["send_home"]
    households, adults, membership = _make_households(county, cfg, rng, kids)
    people = pd.concat([kids, adults], ignore_index=True)
    return World(
        county, people, households, membership, schools, registry, ledger, notes={"n_kids": n_kids}
    )


def l_terms(cohort: int) -> tuple[str, ...]:
    """Terms in which a pupil entering primary in ``cohort`` still has a temporary L number."""
    return (f"{cohort}-autumn", f"{cohort + 1}-spring")


def _settle_l_numbers(kids: pd.DataFrame, registry: pd.DataFrame) -> None:
    """Keep an L number only where the pipeline's link rule (same birth date, name and
    school, 在读 throughout) can join it to the G number that replaces it; others get a
    G number from the start. L numbers of the last entry cohort are never replaced."""
    lk = kids.index[kids["id_kind"] == "L"]
    reg = registry[registry["pid"].isin(lk)]
    by = {
        (p, t): (s, st)
        for p, t, s, st in zip(reg["pid"], reg["term"], reg["school"], reg["status"], strict=True)
    }
    for pid in lk:
        c = int(kids.at[pid, "cohort"])
        names = list(l_terms(c)) + ([f"{c + 1}-autumn"] if f"{c + 1}-autumn" in TERMS else [])
        idx = [TERMS.index(t) for t in names if t in TERMS]
        rows = [by.get((pid, i)) for i in idx]
        ok = (
            all(r is not None and r[1] == ENROLLED for r in rows) and len({r[0] for r in rows}) == 1
        )
        if not ok:
            kids.at[pid, "id_kind"] = "G"


# --------------------------------------------------------------------------- careers
def _expected_stage(k: np.ndarray, kids: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Stage and grade number a child would be in, given nominal grade k (1 = 一年级)."""
    k = np.asarray(k).astype(int)
    track = kids["track"].to_numpy().astype(int)
    ter = kids["tertiary"].to_numpy().astype(bool)
    pre = kids["preschool"].to_numpy().astype(bool)
    stage = np.full(len(k), NO_STAGE)
    grade = np.zeros(len(k), dtype=int)
    m = (k >= -2) & (k <= 0) & pre
    stage[m], grade[m] = PRE, k[m] + 3
    m = (k >= 1) & (k <= 6)
    stage[m], grade[m] = PRI, k[m]
    m = (k >= 7) & (k <= 9)
    stage[m], grade[m] = JUN, k[m] - 6
    m = (k >= 10) & (k <= 12) & (track >= 0)
    stage[m], grade[m] = track[m], k[m] - 9
    m = (k >= 13) & ter & (((track == SEN) & (k <= 16)) | ((track == VOC) & (k <= 15)))
    stage[m], grade[m] = TER, k[m] - 12
    return stage, grade


@dataclass
class _Careers:
    """The state of every child's school career while the terms are simulated in order."""

    n: int
    alive: np.ndarray
    gone: np.ndarray  # left the county's schools for good
    out_until: np.ndarray  # dropped/suspended: back at this term index (-1 none)
    away: np.ndarray  # 0 none, DROPPED or SUSPENDED while away
    pending: np.ndarray  # status to show at the next snapshot
    school: np.ndarray
    prev_stage: np.ndarray
    boarding: np.ndarray
    hukou_moved_term: np.ndarray
    send_home: np.ndarray
    deaths: dict[int, date] = field(default_factory=dict)
    rows: list = field(default_factory=list)
    ledger_rows: list = field(default_factory=list)
    last: dict | None = None

    @classmethod
    def start(cls, n: int, send_home: np.ndarray) -> _Careers:
        return cls(
            n=n,
            alive=np.ones(n, bool),
            gone=np.zeros(n, bool),
            out_until=np.full(n, -1),
            away=np.zeros(n, dtype=np.int8),
            pending=np.zeros(n, dtype=np.int8),
            school=np.full(n, -1, dtype=np.int32),
            prev_stage=np.full(n, NO_STAGE),
            boarding=np.zeros(n, bool),
            hukou_moved_term=np.full(n, -1),
            send_home=send_home,
        )


def _simulate_careers(county, cfg, rng, kids, schools):
    """Every term in order: who is listed where (the 学籍 snapshot), then what happens during
    the term (death, transfer, dropout, suspension), seen at the next snapshot; the ledger
    cases these leave; and the cases of children who never enter the county's schools."""
    n = len(kids)
    send_home = kids["is_disabled"].to_numpy() & (rng.random(n) < cfg.send_home_rate)
    c = _Careers.start(n, send_home)
    for ti, term in enumerate(TERMS):
        stage, status = _snapshot(c, county, cfg, rng, kids, schools, ti, term)
        _term_events(c, cfg, rng, kids, ti, term, stage, status)
    _cases_outside_the_schools(c, cfg, rng, kids)

    reg = pd.concat([pd.DataFrame(r) for r in c.rows], ignore_index=True)
    reg = reg[reg["status"] != ABSENT].reset_index(drop=True)
    ledger = pd.DataFrame(
        c.ledger_rows,
        columns=[
            "pid",
            "term",
            "case_type",
            "disposition",
            "recorded_on",
            "closed_on",
            "closed_disposition",
            "return_term",
        ],
    )
    careers = {"hukou_moved_term": c.hukou_moved_term, "send_home": c.send_home}
    return reg, c.deaths, ledger, careers


def _snapshot(c: _Careers, county, cfg, rng, kids, schools, ti: int, term: str):
    """The term's 学籍: who is listed (returns from dropout and suspension), last term's
    outcomes still shown at the old school, and the school and boarding of each pupil."""
    pools = _school_pools(schools, county.townships, term)
    county_wide = {s: [i for (st, _), v in pools.items() if st == s for i in v] for s in (SEN, VOC)}
    excluded = (kids["out_of_county"] | kids["never_enrolled"]).to_numpy()
    k = school_year(term) - kids["cohort"].to_numpy() + 1
    stage, grade = _expected_stage(k, kids)
    in_flow = (stage >= 0) & (stage != TER) & ~excluded & c.alive & ~c.gone
    # returns from dropout / suspension
    back = (c.out_until == ti) & in_flow
    c.away[back] = 0
    c.out_until[back] = -1
    status = np.where(in_flow, ENROLLED, ABSENT).astype(np.int8)
    status[(c.away > 0) & in_flow] = ABSENT
    status[(c.away == SUSPENDED) & in_flow] = SUSPENDED
    extra_rows = _outcomes_shown(c, cfg, rng, ti, in_flow, status)
    _place_in_schools(c, county, cfg, rng, kids, schools, pools, county_wide, ti, stage, status)
    snap = {
        "pid": np.arange(c.n),
        "term": np.full(c.n, ti),
        "school": c.school.copy(),
        "stage": stage.copy(),
        "grade": grade.copy(),
        "boarding": c.boarding.copy(),
        "status": status.copy(),
    }
    c.rows.append(snap)
    c.rows.extend(extra_rows)
    c.last = {
        key: (val.copy() if isinstance(val, np.ndarray) else val) for key, val in snap.items()
    }
    c.last["status"] = np.where(snap["status"] == ENROLLED, ENROLLED, ABSENT).astype(np.int8)
    return stage, status


def _outcomes_shown(c: _Careers, cfg, rng, ti: int, in_flow, status) -> list[dict]:
    """Rows still listed at the old school with last term's outcome (辍学, 转出, 死亡, 毕业):
    graduates of a stage's final grade (some), and what the last term's events left."""
    extra_rows = []
    last = c.last
    if last is not None:
        shown = c.pending > 0
        if ti > 0 and TERMS[ti].endswith("autumn"):
            final = np.array([FINAL_GRADE.get(int(x), 0) for x in range(6)])[
                np.maximum(last["stage"], 0)
            ]
            left = (
                (last["status"] == ENROLLED)
                & (last["grade"] == final)
                & ~in_flow
                & c.alive
                & ~c.gone
                & (c.away == 0)
                & (last["stage"] != PRE)
                & (c.pending == 0)
            )
            grad = left & (rng.random(c.n) < cfg.graduate_shown)
            c.pending[grad] = GRADUATED
            shown = c.pending > 0
        if shown.any():
            extra = {key: val[shown] for key, val in last.items()}
            extra["status"] = c.pending[shown].copy()
            extra["term"] = np.full(shown.sum(), ti)
            extra_rows.append(extra)
            status[shown & (status == ENROLLED)] = ABSENT  # never listed twice
    c.pending[:] = 0
    return extra_rows


def _place_in_schools(c: _Careers, county, cfg, rng, kids, schools, pools, county_wide, ti,
                      stage, status) -> None:  # fmt: skip
    """A pupil keeps the school, unless the stage changes, the school closed, or a transfer;
    pupils of a merged school go to the township's central school; boarding is drawn anew
    with the school."""
    listed = status != ABSENT
    closed_now = np.zeros(c.n, bool)
    if ti > 0:
        open_idx = set(i for v in pools.values() for i in v)
        closed_now = (c.school >= 0) & ~np.isin(c.school, list(open_idx))
    need = listed & ((stage != c.prev_stage) | (c.school < 0) | closed_now)
    tship = kids["township_idx"].to_numpy()
    new = _assign(rng, pools, np.where(need, stage, NO_STAGE), tship, county_wide)
    if closed_now.any():
        for s_old in np.unique(c.school[closed_now & listed]):
            t_old = county.townships.index(schools.at[s_old, "township"])
            target = [i for i in pools.get((PRI, t_old), []) if schools.at[i, "has_boarding"]]
            m = closed_now & listed & (c.school == s_old) & (stage == PRI)
            if target:
                new[m] = target[0]
    c.school = np.where(need, new, c.school)
    has_b = schools["has_boarding"].to_numpy()
    redraw = need & (c.school >= 0)
    stage_board_p = np.array(cfg.boarding)
    c.boarding = np.where(
        redraw,
        has_b[np.maximum(c.school, 0)] & (rng.random(c.n) < stage_board_p[np.maximum(stage, 0)]),
        c.boarding,
    )
    c.boarding[stage == PRE] = False
    c.prev_stage = np.where(listed, stage, c.prev_stage)


def _term_events(c: _Careers, cfg, rng, kids, ti: int, term: str, stage, status) -> None:
    """What happens to the enrolled during the term (seen at the next snapshot): one draw
    decides death, suspension, transfer out, transfer within the county or dropout."""
    active = status == ENROLLED
    u = rng.random(c.n)
    p_drop = np.array(cfg.dropout)[np.maximum(stage, 0)]
    edges = np.cumsum([cfg.death, cfg.suspension, cfg.transfer_out, cfg.transfer_in_county])
    dies = active & (u < edges[0])
    susp = active & (u >= edges[0]) & (u < edges[1]) & (stage >= PRI)
    tout = active & (u >= edges[1]) & (u < edges[2]) & (stage >= PRI)
    tin = active & (u >= edges[2]) & (u < edges[3]) & (stage >= PRI)
    drop = active & (u >= edges[3]) & (u < edges[3] + p_drop) & ~c.send_home
    _deaths(c, cfg, rng, term, dies)
    birth = kids["birth"].to_numpy().astype("datetime64[D]")
    age_next = _age_at(birth, school_year(TERMS[min(ti + 1, len(TERMS) - 1)]))
    _transfers(c, cfg, rng, ti, tout, tin, age_next)
    _dropouts_and_suspensions(c, cfg, rng, ti, drop, susp, age_next)


def _deaths(c: _Careers, cfg, rng, term: str, dies) -> None:
    """Natural deaths come after the term's payments (December onwards / June onwards)."""
    start = np.datetime64(term_start(term))
    end_offset = 181 if term.endswith("autumn") else 183
    death_day = start + (91 + rng.integers(0, end_offset - 95, c.n)).astype("timedelta64[D]")
    for i in np.flatnonzero(dies):
        c.deaths[int(i)] = pd.Timestamp(death_day[i]).date()
    c.alive &= ~dies
    c.pending[dies & (rng.random(c.n) < cfg.dead_shown)] = DECEASED


def _transfers(c: _Careers, cfg, rng, ti: int, tout, tin, age_next) -> None:
    """Out of the county (gone for good; some move their 户口 too, some are certified by the
    ledger as 县外就读), or to another school of the county (drawn at the next snapshot)."""
    c.gone |= tout
    c.pending[tout & (rng.random(c.n) < cfg.transfer_shown)] = TRANSFERRED
    c.hukou_moved_term[tout & (rng.random(c.n) < cfg.hukou_moves_with_transfer)] = ti + 1
    for i in np.flatnonzero(tout & (c.hukou_moved_term != ti + 1)):
        if (
            6 <= age_next[i] <= 15
            and rng.random() < cfg.out_of_county_ledger
            and ti + 1 < len(TERMS)
        ):
            c.ledger_rows.append(_case(rng, i, ti + 1, "疑似辍学", "县外就读已取证"))
    c.school[tin] = -1
    c.prev_stage[tin] = NO_STAGE


def _dropouts_and_suspensions(c: _Careers, cfg, rng, ti: int, drop, susp, age_next) -> None:
    """Away from school for a while: a dropout returns (劝返复学) or not, a suspension after a
    term or two; children of compulsory age get a ledger case (most dropouts, every
    suspension)."""
    T = len(TERMS)
    compulsory = (age_next >= 6) & (age_next <= 15)
    ret = rng.random(c.n)
    c.away[drop] = DROPPED
    c.pending[drop & (rng.random(c.n) < cfg.dropped_shown)] = DROPPED
    returns = np.where(compulsory, ret < cfg.dropout_return, ret < 0.2)
    c.out_until[drop] = np.where(returns[drop], ti + 2 + (rng.random(drop.sum()) < 0.5), -1)
    c.school[drop] = -1
    c.prev_stage[drop] = NO_STAGE
    c.away[susp] = SUSPENDED
    c.out_until[susp] = ti + 2 + (rng.random(susp.sum()) < 0.3)
    for i in np.flatnonzero(drop & compulsory):
        if ti + 1 < T and rng.random() >= cfg.dropout_unrecorded:
            back_t = c.out_until[i] if c.out_until[i] < T else None
            case_type = "辍学" if rng.random() < 0.5 else "疑似辍学"
            c.ledger_rows.append(_case(rng, i, ti + 1, case_type, "未返校", returned_term=back_t))
    for i in np.flatnonzero(susp & compulsory):
        if ti + 1 < T:
            back_t = c.out_until[i] if c.out_until[i] < T else None
            c.ledger_rows.append(_case(rng, i, ti + 1, "疑似辍学", "休学", returned_term=back_t))


def _cases_outside_the_schools(c: _Careers, cfg, rng, kids) -> None:
    """Ledger cases of children never in the county's schools: deferred entry (延缓入学),
    out-of-county schooling certified at the start, and schooling at home (送教上门)."""
    T = len(TERMS)
    cohort = kids["cohort"].to_numpy()
    birth = kids["birth"].to_numpy().astype("datetime64[D]")
    age0 = {ti: _age_at(birth, school_year(t)) for ti, t in enumerate(TERMS)}
    defer = kids["deferred"].to_numpy() & kids["county_hukou"].to_numpy()
    for i in np.flatnonzero(defer):
        ti = next(
            (
                x
                for x, t in enumerate(TERMS)
                if t.endswith("autumn") and school_year(t) == cohort[i] - 1
            ),
            None,
        )
        if ti is not None:
            c.ledger_rows.append(_case(rng, i, ti, "疑似辍学", "延缓入学", closed_next_year=True))
    ooc = kids["out_of_county"].to_numpy()
    for i in np.flatnonzero(ooc & (rng.random(c.n) < cfg.out_of_county_ledger)):
        first = next((x for x in range(T) if 6 <= age0[x][i] <= 15), None)
        if first is not None:
            c.ledger_rows.append(_case(rng, i, first, "疑似辍学", "县外就读已取证"))
    for i in np.flatnonzero(c.send_home):
        first = next((x for x in range(T) if 6 <= age0[x][i] <= 15), None)
        if first is not None:
            c.ledger_rows.append(_case(rng, i, first, "疑似辍学", "送教上门"))


def _age_at(birth: np.ndarray, year: int) -> np.ndarray:
    """Age in whole years on 1 September of ``year``."""
    b = pd.DatetimeIndex(birth)
    before = (b.month < 9) | ((b.month == 9) & (b.day <= 1))
    return year - b.year.to_numpy() - np.where(before, 0, 1)


def _case(rng, pid, term_idx, case_type, disposition, returned_term=None, closed_next_year=False):
    """A ledger case recorded during ``term_idx`` (after its snapshot, before the ledger export)."""
    start = term_start(TERMS[term_idx])
    recorded = start + pd.Timedelta(days=int(rng.integers(5, 50)))
    closed_on, closed_disp = None, None
    if returned_term is not None and 0 <= returned_term < len(TERMS):
        closed_on = term_start(TERMS[int(returned_term)]) + pd.Timedelta(
            days=int(rng.integers(0, 20))
        )
        closed_disp = "劝返复学" if disposition == "未返校" else disposition
    elif closed_next_year:
        closed_on = date(start.year + 1, 9, 1) + pd.Timedelta(days=int(rng.integers(0, 10)))
        closed_disp = disposition
    return dict(
        pid=int(pid),
        term=int(term_idx),
        case_type=case_type,
        disposition=disposition,
        recorded_on=pd.Timestamp(recorded).date(),
        closed_on=None if closed_on is None else pd.Timestamp(closed_on).date(),
        closed_disposition=closed_disp,
        return_term=None if returned_term is None else int(returned_term),
    )


# --------------------------------------------------------------------------- households
def _make_households(county, cfg, rng, kids):
    """Poverty-registry households for the poor families, plus elderly-only households: the
    households registered, their adults, every member's time in the registry, and the
    members who join it during the simulated years (births, marriages)."""
    poor_kids = kids[kids["poor"]]
    hh = _registered_households(county, cfg, rng, poor_kids)
    fam_hh = hh[hh["family"] >= 0]
    elder_hh = hh[hh["family"] < 0]
    grand = rng.random(len(fam_hh)) < 0.25  # a quarter are headed by the grandparents
    grand_hh = set(fam_hh["household_id"].to_numpy()[grand])
    ad = _adults(county, rng, kids, hh, fam_hh, elder_hh, grand)
    membership = _memberships(kids, poor_kids, fam_hh, ad, grand_hh)
    new, joined = _joiners(county, rng, hh, fam_hh, elder_hh, grand_hh, len(kids) + len(ad))
    nm_rows = new[["household_id", "pid", "relation"]].assign(left_on=pd.NaT, joined_on=joined)
    membership = pd.concat([membership, nm_rows], ignore_index=True)
    ad = pd.concat([ad, new], ignore_index=True)
    adults_out = ad.drop(columns=["surname", "role", "relation", "household_id"])
    adults_out["household_member"] = True
    hh = hh.drop(columns=["hh_no", "youngest", "surname", "family"])
    return hh, adults_out, membership


def _registered_households(county, cfg, rng, poor_kids) -> pd.DataFrame:
    """One household per poor family (and a third as many elderly-only households): its
    number, attribute, year registered, year it exits poverty, and relapse or instability."""
    fams = poor_kids.groupby("family").agg(
        township=("township", "first"),
        village=("village", "first"),
        surname=("name", lambda s: s.iloc[0][0]),
        youngest=("birth", "max"),
    )
    n_f = len(fams)
    n_eld = round(n_f * 0.35)
    eld_idx = rng.integers(0, n_f, n_eld)
    eld = fams.iloc[eld_idx].reset_index(drop=True)
    eld["family"] = -1
    hh = pd.concat([fams.reset_index(), eld], ignore_index=True)
    n_h = len(hh)
    hh["hh_no"] = np.arange(n_h)
    t_no = hh["township"].map({t: i + 1 for i, t in enumerate(county.townships)})
    v_no = [
        county.villages[t].index(v) + 1 for t, v in zip(hh["township"], hh["village"], strict=True)
    ]
    seq = hh.groupby(["township", "village"]).cumcount() + 1
    hh["household_id"] = (
        county.code
        + t_no.map("{:03d}".format)
        + pd.Series(v_no).map("{:03d}".format)
        + seq.map("{:04d}".format)
    )
    hh["household_attribute"] = rng.choice(
        ["一般贫困户", "低保贫困户", "特困供养贫困户"], n_h, p=[0.7, 0.25, 0.05]
    )
    hh["identified_year"] = rng.choice(
        [2014, 2015, 2016, 2017, 2018, 2019, 2020], n_h, p=[0.55, 0.15, 0.1, 0.08, 0.05, 0.04, 0.03]
    )
    years, probs = zip(*cfg.exit_years, strict=True)
    exit_year = rng.choice(years, n_h, p=np.array(probs) / sum(probs))
    hh["exit_year"] = np.maximum(exit_year, hh["identified_year"])
    u = rng.random(n_h)
    hh["relapse"] = (u < cfg.relapse_rate) & (hh["exit_year"] <= 2019)
    hh["unstable"] = (u >= cfg.relapse_rate) & (u < cfg.relapse_rate + cfg.unstable_rate)
    return hh


def _adults(county, rng, kids, hh, fam_hh, elder_hh, grand) -> pd.DataFrame:
    """The adults of the households: parents (and grandparents heading a quarter of the
    families), the elderly couples; their IDs, names, relation to the head, and the deaths
    among the elderly over the simulated years."""
    youngest_year = pd.DatetimeIndex(fam_hh["youngest"]).year.to_numpy()
    father_year = np.clip(youngest_year - rng.integers(24, 38, len(fam_hh)), 1960, 1992)
    mother_year = np.clip(father_year + rng.integers(-2, 5, len(fam_hh)), 1962, 1994)
    gf_year = father_year - rng.integers(22, 30, len(fam_hh))
    gm_year = gf_year + rng.integers(-1, 4, len(fam_hh))

    def adults(households, years, sex, surnames, role):
        b = _random_dates(rng, np.asarray(years))
        return pd.DataFrame(
            {"household_id": households, "birth": b, "sex": sex, "surname": surnames, "role": role}
        )

    fam_ids, fam_names = fam_hh["household_id"].to_numpy(), fam_hh["surname"].to_numpy()
    parts = [
        adults(fam_ids, father_year, "男", fam_names, "father"),
        adults(fam_ids, mother_year, "女", nm.draw_surnames(rng, len(fam_hh)), "mother"),
        adults(fam_ids[grand], gf_year[grand], "男", fam_names[grand], "grandfather"),
        adults(fam_ids[grand], gm_year[grand], "女", nm.draw_surnames(rng, grand.sum()),
               "grandmother"),
    ]  # fmt: skip
    e_years = rng.integers(1936, 1960, len(elder_hh))
    eld_ids, eld_names = elder_hh["household_id"].to_numpy(), elder_hh["surname"].to_numpy()
    parts += [
        adults(eld_ids, e_years, "男", eld_names, "elder_head"),
        adults(eld_ids, e_years + rng.integers(-3, 4, len(elder_hh)), "女",
               nm.draw_surnames(rng, len(elder_hh)), "elder_spouse"),
    ]  # fmt: skip
    ad = pd.concat(parts, ignore_index=True)
    ad = ad.merge(hh[["household_id", "township", "village"]], on="household_id")
    male = (ad["sex"] == "男").to_numpy()
    birth = ad["birth"].to_numpy().astype("datetime64[D]")
    ad["id_number"] = make_ids(
        np.full(len(ad), int(county.code)), birth, _unique_seq(rng, birth, male, base=400)
    )
    ad["name"] = nm.draw_names(rng, len(ad), ad["surname"].to_numpy())
    ad["pid"] = np.arange(len(kids), len(kids) + len(ad))
    ad["kind"] = "adult"
    ad["county_hukou"] = True
    ad["is_disabled"] = rng.random(len(ad)) < 0.04
    in_grand = ad["household_id"].isin(set(fam_ids[grand]))
    rel = {
        "father": "户主",
        "mother": "配偶",
        "elder_head": "户主",
        "elder_spouse": "配偶",
        "grandfather": "户主",
        "grandmother": "配偶",
    }
    ad["relation"] = ad["role"].map(rel)
    ad.loc[in_grand & (ad["role"] == "father"), "relation"] = "之子"
    ad.loc[in_grand & (ad["role"] == "mother"), "relation"] = "之儿媳"
    # adult deaths among the elderly, over the simulated years
    old = (pd.DatetimeIndex(ad["birth"]).year < 1950) & (rng.random(len(ad)) < 0.08)
    ad["died_on"] = pd.NaT
    ad.loc[old, "died_on"] = pd.to_datetime("2019-09-01") + pd.to_timedelta(
        rng.integers(0, 900, old.sum()), unit="D"
    )
    return ad


def _memberships(kids, poor_kids, fam_hh, ad, grand_hh) -> pd.DataFrame:
    """Each adult's and child's time in the registry: from birth for the children born in
    the window, until death, or until the family moves its 户口 out of the county."""
    m_rows = [
        ad[["household_id", "pid", "relation", "died_on"]].rename(columns={"died_on": "left_on"})
    ]
    kid_m = poor_kids.merge(fam_hh[["family", "household_id"]], on="family")
    kid_m = kid_m.assign(relation=np.where(kid_m["sex"] == "男", "之子", "之女"))
    kg = kid_m["household_id"].isin(grand_hh)
    kid_m.loc[kg, "relation"] = np.where(kid_m.loc[kg, "sex"] == "男", "之孙子", "之孙女")
    m_rows.append(
        kid_m[["household_id", "pid", "relation", "died_on"]].rename(columns={"died_on": "left_on"})
    )
    membership = pd.concat(m_rows, ignore_index=True)
    membership["joined_on"] = pd.NaT
    # children born into the registry join at birth (for those born within the window)
    births = kids.set_index("pid")["birth"]
    jb = membership["pid"].map(births)
    membership.loc[jb.notna() & (jb > pd.Timestamp("2019-01-01")), "joined_on"] = jb
    # families who moved their hukou out leave the registry with them
    moved = kids.set_index("pid")["hukou_moved_term"]
    mt = membership["pid"].map(moved).fillna(-1).astype(int)
    left_move = pd.Series(
        [pd.Timestamp(term_start(TERMS[t])) if 0 <= t < len(TERMS) else pd.NaT for t in mt]
    )
    membership["left_on"] = membership["left_on"].where(membership["left_on"].notna(), left_move)
    return membership


def _joiners(county, rng, hh, fam_hh, elder_hh, grand_hh, first_pid: int):
    """Members who join the registry inside the window: babies born into families, and the
    sons of elderly households who marry (son and bride). Returns them and their joining day."""
    rng_births = rng.random(len(fam_hh)) < 0.12
    bh = fam_hh[rng_births]
    bb = _random_dates(rng, np.full(len(bh), 2019)) + rng.integers(60, 1000, len(bh)).astype(
        "timedelta64[D]"
    )
    babies = pd.DataFrame(
        {
            "household_id": bh["household_id"].to_numpy(),
            "birth": bb,
            "sex": np.where(rng.random(len(bh)) < 0.52, "男", "女"),
            "surname": bh["surname"].to_numpy(),
            "role": "baby",
        }
    )
    wed = elder_hh[rng.random(len(elder_hh)) < 0.04]
    sons = pd.DataFrame(
        {
            "household_id": wed["household_id"].to_numpy(),
            "birth": _random_dates(rng, rng.integers(1985, 1996, len(wed))),
            "sex": "男",
            "surname": wed["surname"].to_numpy(),
            "role": "son",
        }
    )
    brides = pd.DataFrame(
        {
            "household_id": wed["household_id"].to_numpy(),
            "birth": _random_dates(rng, rng.integers(1987, 1998, len(wed))),
            "sex": "女",
            "surname": nm.draw_surnames(rng, len(wed)),
            "role": "bride",
        }
    )
    new = pd.concat([babies, sons, brides], ignore_index=True)
    new = new.merge(hh[["household_id", "township", "village"]], on="household_id")
    nb = new["birth"].to_numpy().astype("datetime64[D]")
    new["id_number"] = make_ids(
        np.full(len(new), int(county.code)),
        nb,
        _unique_seq(rng, nb, (new["sex"] == "男").to_numpy(), base=800),
    )
    new["name"] = nm.draw_names(rng, len(new), new["surname"].to_numpy())
    new["pid"] = np.arange(first_pid, first_pid + len(new))
    new["kind"] = "adult"
    new["county_hukou"] = True
    new["is_disabled"] = False
    new["died_on"] = pd.NaT
    in_g = new["household_id"].isin(grand_hh)
    new["relation"] = np.where(new["sex"] == "男", "之子", "之女")
    new.loc[in_g & (new["role"] == "baby"), "relation"] = np.where(
        new.loc[in_g & (new["role"] == "baby"), "sex"] == "男", "之孙子", "之孙女"
    )
    new.loc[new["role"] == "bride", "relation"] = "之儿媳"
    joined = pd.Series(pd.NaT, index=new.index, dtype="datetime64[ns]")
    joined[new["role"] == "baby"] = pd.to_datetime(new.loc[new["role"] == "baby", "birth"])
    wed_on = pd.Timestamp("2019-10-01") + pd.to_timedelta(rng.integers(0, 800, len(new)), unit="D")
    joined[new["role"] == "bride"] = wed_on[(new["role"] == "bride").to_numpy()]
    return new, joined


# --------------------------------------------------------------------------- views
def household_status_at(households: pd.DataFrame, when: date) -> pd.DataFrame:
    """Households listed in the poverty registry exported at ``when``, with their status.

    A household identified in year Y is listed from that year's August export; one that
    exits in year E shows 已脱贫 from the first export after 31 December E; 返贫 and the
    monitoring categories (监测对象) exist from 2021.
    """
    hh = households
    listed = hh["identified_year"] < when.year
    listed |= (hh["identified_year"] == when.year) & (when.month >= 8)
    out = hh[listed].copy()
    exited = out["exit_year"] < when.year
    out["poverty_status"] = np.where(exited, "已脱贫", "未脱贫")
    relapsed = out["relapse"] & (when >= date(2021, 8, 1))
    out.loc[relapsed, "poverty_status"] = "返贫"
    out["exit_year_shown"] = np.where(exited, out["exit_year"], None)
    mon = np.full(len(out), "", dtype=object)
    if when >= date(2021, 2, 1):
        mon[(out["unstable"] & exited).to_numpy()] = "脱贫不稳定户"
        mon[relapsed.to_numpy()] = "突发严重困难户"
    out["monitoring_type"] = mon
    return out


def members_at(membership: pd.DataFrame, when: date) -> pd.DataFrame:
    ts = pd.Timestamp(when)
    joined = membership["joined_on"].isna() | (membership["joined_on"] <= ts)
    stays = membership["left_on"].isna() | (membership["left_on"] > ts)
    return membership[joined & stays]


def grade_label(stage: int, grade: int) -> str:
    return GRADE_LABELS[stage][grade - 1]
