"""Lossless spellings of clean values, as registry exports write them.

Every function here turns a clean value into a spelling that the contract's cleaning
rules (raw_exports.md: NFKC fold, trim, whitespace between Han characters removed,
middle dots unified, ID normalisation with the 15 -> 18 upgrade, the listed date and
money spellings, the alias seeds) turn back into exactly that value. Nothing here may
lose information: lossy problems are planted by the world model, not by the renderer.

The functions work on one value; ``render.cells`` applies them to the few unique values
or the sampled subset of a column, so that a file of millions of rows costs a few
numpy passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from .reference import read_seed

# --------------------------------------------------------------------------- seeds


@dataclass(frozen=True)
class Seeds:
    columns: dict[str, tuple[str, ...]]  # source -> canonical columns in seed (contract) order
    aliases: dict[tuple[str, str], tuple[str, ...]]  # (source, column) -> header spellings
    grade_variants: dict[str, tuple[str, ...]]  # grade_label -> other spellings
    program_names: dict[str, str]  # program_code -> canonical name
    program_variants: dict[str, tuple[str, ...]]  # program_code -> other names
    status_synonyms: dict[str, tuple[str, ...]]  # students: 在读 -> (在校, 正常)


@lru_cache(maxsize=1)
def seeds() -> Seeds:
    # the one header vocabulary: every spelling of a concept, for every source that has it
    vocabulary: dict[str, list[str]] = {}
    for row in read_seed("header_aliases.csv"):
        vocabulary.setdefault(row["concept"], []).append(row["alias"])
    columns: dict[str, list[str]] = {}
    aliases: dict[tuple[str, str], list[str]] = {}
    for row in read_seed("source_columns.csv"):
        columns.setdefault(row["source"], []).append(row["column_name"])
        aliases[(row["source"], row["column_name"])] = vocabulary[row["concept"]]

    by_grade: dict[tuple[str, str], list[str]] = {}
    labels: dict[tuple[str, str], str] = {}
    for row in read_seed("grade_crosswalk.csv"):
        key = (row["stage"], row["grade_number"])
        by_grade.setdefault(key, []).append(row["grade_text"])
        labels[key] = row["grade_label"]
    grade_variants = {
        labels[k]: tuple(t for t in texts if t != labels[k]) for k, texts in by_grade.items()
    }

    program_names = {r["program_code"]: r["program_name"] for r in read_seed("aid_programs.csv")}
    variants: dict[str, list[str]] = {}
    for row in read_seed("program_aliases.csv"):
        if row["alias"] != program_names.get(row["program_code"]):
            variants.setdefault(row["program_code"], []).append(row["alias"])

    enrolled = [
        r["status_text"]
        for r in read_seed("status_crosswalk.csv")
        if r["source"] == "students" and r["status_code"] == "enrolled"
    ]
    return Seeds(
        columns={k: tuple(v) for k, v in columns.items()},
        aliases={k: tuple(v) for k, v in aliases.items()},
        grade_variants=grade_variants,
        program_names=program_names,
        program_variants={k: tuple(v) for k, v in variants.items()},
        status_synonyms={"在读": tuple(t for t in enrolled if t != "在读")},
    )


# --------------------------------------------------------------------------- characters

# ASCII '!'..'~' -> U+FF01..U+FF5E, space -> ideographic space: NFKC folds them back.
FULLWIDTH = str.maketrans({**{chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}, " ": "\u3000"})
FULLWIDTH_PARENS = str.maketrans({"(": "（", ")": "）"})
IDEOGRAPHIC_SPACE = "\u3000"
# Middle-dot spellings the name cleaning unifies to U+00B7 (contract: 阿卜杜.热合曼).
DOT_VARIANTS = (".", "•", "・", "‧", "．")


def fullwidth(text: str) -> str:
    return text.translate(FULLWIDTH)


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def han_gaps(name: str) -> list[int]:
    """Positions i where name[i-1] and name[i] are both Han: a space there is removed
    by the name cleaning."""
    return [i for i in range(1, len(name)) if is_han(name[i - 1]) and is_han(name[i])]


# --------------------------------------------------------------------------- IDs

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID18 = re.compile(r"\d{17}[\dX]")
E_NOTATION = re.compile(r"[+-]?\d+(?:\.\d+)?[eE][+-]?\d+")


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def is_valid_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and _ID18.fullmatch(value) is not None
        and id_check_char(value[:17]) == value[17]
    )


def id_to_15(id18: str) -> str:
    """The old 15-digit form of an 18-digit ID of someone born 19xx: drop the century
    and the check character. Upgrading adds back '19' and recomputes the check."""
    assert id18[6:8] == "19"
    return id18[:6] + id18[8:17]


def upgrade_15(id15: str) -> str:
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + id_check_char(first17)


def id_spaced(id_text: str, form: int) -> str:
    if form == 0:  # grouped like a printed card: area, birth date, sequence
        return f"{id_text[:6]} {id_text[6:14]} {id_text[14:]}"
    if form == 1:
        return id_text + " "
    return " " + id_text


# --------------------------------------------------------------------------- dates

EXCEL_EPOCH = date(1899, 12, 30)
DATE_FORMS = ("iso", "slash", "dot", "compact", "cn", "serial")
DATE_CELL = "cell"  # Excel only: a real date cell
DATE_SERIAL_NUMBER = "serial_number"  # Excel only: the serial as a number cell
MONTH_FORMS = ("dot", "dash", "cn", "compact")


def format_date(d: date, form: str) -> str | int | date:
    if form == "iso":
        return d.isoformat()
    if form == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if form == "dot":
        return f"{d.year}.{d.month:02d}.{d.day:02d}"
    if form == "compact":
        return f"{d.year}{d.month:02d}{d.day:02d}"
    if form == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if form == "serial":
        return str((d - EXCEL_EPOCH).days)
    if form == DATE_SERIAL_NUMBER:
        return (d - EXCEL_EPOCH).days
    if form == DATE_CELL:
        return d
    raise ValueError(f"unknown date form {form!r}")


def format_month(d: date, form: str) -> str:
    # Always text: Excel would turn a number 2020.10 into 2020.1 (January).
    if form == "dot":
        return f"{d.year}.{d.month}"
    if form == "dash":
        return f"{d.year}-{d.month:02d}"
    if form == "cn":
        return f"{d.year}年{d.month}月"
    if form == "compact":
        return f"{d.year}{d.month:02d}"
    raise ValueError(f"unknown month form {form!r}")


# --------------------------------------------------------------------------- money

MONEY_FORMS = ("comma2", "plain2", "plain", "yuan", "rmb")
MONEY_NUMBER = "number"  # Excel only: a number cell


def yuan_text(cents: int, decimals: bool = False, thousands: bool = False) -> str:
    """Exact decimal text of an amount in cents (no float rounding)."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(int(cents)), 100)
    head = f"{whole:,}" if thousands else str(whole)
    if decimals:
        return f"{sign}{head}.{frac:02d}"
    if frac == 0:
        return f"{sign}{head}"
    return f"{sign}{head}.{frac:02d}".rstrip("0")


def format_money(cents: int, form: str) -> str | int | float:
    if form == "comma2":
        return yuan_text(cents, decimals=True, thousands=True)
    if form == "plain2":
        return yuan_text(cents, decimals=True)
    if form == "plain":
        return yuan_text(cents)
    if form == "yuan":
        return yuan_text(cents) + "元"
    if form == "rmb":
        return "￥" + yuan_text(cents)
    if form == MONEY_NUMBER:
        return int(cents) // 100 if cents % 100 == 0 else float(yuan_text(cents))
    raise ValueError(f"unknown money form {form!r}")


# --------------------------------------------------------------------------- terms


def parse_term_code(code: object) -> tuple[int, str] | None:
    """`2020-autumn` -> (2020, 'autumn'); anything else None."""
    if not isinstance(code, str):
        return None
    m = re.fullmatch(r"(\d{4})-(autumn|spring)", code.strip())
    return (int(m.group(1)), m.group(2)) if m else None


SCHOOL_YEAR_FORMS = ("dash", "emdash", "single")
SEMESTER_WORDS = {"autumn": ("秋季学期", "第一学期"), "spring": ("春季学期", "第二学期")}
ONE_CELL_FORMS = ("cn_full", "short", "school_year")


def school_year_text(first_year: int, form: str) -> str:
    if form == "dash":
        return f"{first_year}-{first_year + 1}"
    if form == "emdash":
        return f"{first_year}—{first_year + 1}"
    return f"{first_year}学年"


def term_two_cells(year: int, season: str, sy_form: str, word: int, full_year: bool):
    """(学年, 学期) of a term: autumn Y is school year Y-(Y+1), spring Y is (Y-1)-Y."""
    first = year if season == "autumn" else year - 1
    sem = "全年" if full_year and season == "autumn" else SEMESTER_WORDS[season][word]
    return school_year_text(first, sy_form), sem


def term_one_cell(year: int, season: str, form: str, full_year: bool) -> str:
    """One 学期 cell that carries the year (staging's parse_term reads all of these)."""
    first = year if season == "autumn" else year - 1
    if full_year and season == "autumn":
        return f"{first}-{first + 1}学年全年"
    if form == "cn_full":
        return f"{year}年{'秋季' if season == 'autumn' else '春季'}学期"
    if form == "short":
        return f"{year}{'秋' if season == 'autumn' else '春'}"
    word = "第一学期" if season == "autumn" else "第二学期"
    return f"{first}-{first + 1}学年{word}"


# --------------------------------------------------------------------------- misc


def pick_weights(rng: np.random.Generator, k: int, mix: bool) -> np.ndarray:
    """Per-file weights over k spellings: one spelling, or a skewed mix of them."""
    w = np.zeros(k)
    main = int(rng.integers(k))
    if not mix or rng.random() < 0.4:
        w[main] = 1.0
        return w
    w = rng.dirichlet(np.full(k, 0.5))
    w[main] += 1.0
    return w / w.sum()


REFUND_REMARKS = ("退回", "冲回", "重复发放退回", "冲回多发")
OTHER_REMARKS = ("已核实", "补录", "转学", "外出务工", "随迁子女", "已更正")
CLERKS = ("张某", "李某", "王某", "刘某", "陈某", "杨某")
