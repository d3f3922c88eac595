"""Columns and layout: the header spellings and extra columns of a file, and its rows
around the data (titles, subtitles, totals, sign-off, blank rows, sheets, merges)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from .. import quirks as q
from .cells import Renderer, cell_text, obj_array, texts, to_date
from .spec import (
    DATE_COLUMNS,
    EXTRA_HEADERS,
    MONTH_COLUMNS,
    NUMBER_CELL_COLUMNS,
    PEOPLE_COUNT_UNIT,
    PHONE,
    REMARK,
    SPECIAL_COLUMNS,
    RenderError,
)


def _school_year_columns(r: Renderer) -> dict[str, np.ndarray]:
    """学年 + 学期, or one 学期 cell carrying the year, from term_code (per-file choice)."""
    rec, n, rng = r.records, r.n, r.rng
    codes, uniques = pd.factorize(rec["term_code"].to_numpy(dtype=object))
    parsed = [q.parse_term_code(u) for u in uniques]
    full = np.zeros(n, dtype=bool)
    if "_full_year" in rec:
        full = rec["_full_year"].fillna(False).to_numpy(dtype=bool)
    one_cell = rng.random() < 0.3
    sy_form = q.SCHOOL_YEAR_FORMS[int(rng.integers(len(q.SCHOOL_YEAR_FORMS)))]
    word = int(rng.random() < 0.3)  # 第一/第二学期 instead of 秋季/春季学期
    other_word = rng.random(n) < (0.05 if rng.random() < 0.5 else 0.0)
    one_form = q.ONE_CELL_FORMS[int(rng.integers(len(q.ONE_CELL_FORMS)))]
    key = codes.astype(np.int64) * 4 + full * 2 + other_word
    ukeys, inverse = np.unique(key, return_inverse=True)
    sy_vals, sem_vals = [], []
    for u in ukeys:
        c, f, o = int(u // 4), bool(u // 2 % 2), bool(u % 2)
        p = parsed[c] if c >= 0 else None
        if p is None:
            raw = "" if c < 0 else cell_text(uniques[c])
            sy_vals.append("")
            sem_vals.append(raw)
        elif one_cell:
            sy_vals.append("")
            sem_vals.append(q.term_one_cell(p[0], p[1], one_form, f))
        else:
            a, b = q.term_two_cells(p[0], p[1], sy_form, word ^ o, f)
            sy_vals.append(a)
            sem_vals.append(b)
    r.count("full_year_term", int(full.sum()))
    if one_cell:
        r.count("one_cell_term", n)
        return {"semester": obj_array(sem_vals)[inverse]}
    r.count(f"school_year_{sy_form}", n)
    r.count("semester_alt_word", int((other_word).sum()))
    return {
        "school_year": obj_array(sy_vals)[inverse],
        "semester": obj_array(sem_vals)[inverse],
    }


def _extra_columns(r: Renderer, amount_cents: np.ndarray | None) -> dict[str, np.ndarray]:
    rng, n = r.rng, r.n
    if rng.random() >= r.cfg.extra_columns:
        return {}
    which = []
    u = rng.random()
    if u < 0.45:
        which = [REMARK]
    elif u < 0.75:
        which = [PHONE]
    else:
        which = [REMARK, PHONE]
    out = {}
    if REMARK in which:
        remark = np.full(n, "", dtype=object)
        other = rng.random(n) < 0.02
        pick = rng.integers(0, len(q.OTHER_REMARKS), n)
        remark[other] = obj_array(list(q.OTHER_REMARKS))[pick[other]]
        if amount_cents is not None:
            refund = amount_cents < 0
            pick = rng.integers(0, len(q.REFUND_REMARKS), n)
            remark[refund] = obj_array(list(q.REFUND_REMARKS))[pick[refund]]
        out[REMARK] = remark
        r.count("extra_column_remark")
    if PHONE in which:
        phone = rng.integers(13_000_000_000, 19_999_999_999, n).astype(str).astype(object)
        phone[rng.random(n) < 0.4] = ""
        out[PHONE] = phone
        r.count("extra_column_phone")
    return out


def header_text(r: Renderer, key: str) -> str:
    if key in EXTRA_HEADERS:
        return EXTRA_HEADERS[key]
    aliases = r.seeds.aliases.get((r.req.source, key), (key,))
    if not r.cfg.header_variants:
        return aliases[0]
    rng = r.rng
    j = int(rng.integers(len(aliases)))
    if r.req.alias_rotation is not None:
        j = r.req.alias_rotation % len(aliases)
    text = aliases[j]
    if j:
        r.count("header_alias")
    if "(" in text and rng.random() < (0.8 if key == "amount" else 0.5):
        text = text.translate(q.FULLWIDTH_PARENS)
        r.count("header_fullwidth_paren")
    if rng.random() < 0.05:
        gaps = q.han_gaps(text)
        where = rng.integers(3)
        if where == 0 and gaps:
            g = gaps[int(rng.integers(len(gaps)))]
            text = text[:g] + " " + text[g:]
        elif where == 1:
            text = " " + text
        else:
            text = text + " "
        r.count("header_space")
    return text


def amount_cents(rec: pd.DataFrame) -> np.ndarray | None:
    if "amount" not in rec:
        return None
    return pd.to_numeric(rec["amount"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


def render_columns(r: Renderer) -> tuple[list[str], dict[str, np.ndarray]]:
    """Output column keys (in order) and their values, one array of n cells each."""
    rec, source = r.records, r.req.source
    canonical = r.seeds.columns.get(source)
    if canonical is None:
        raise RenderError(f"{r.req.file_stem}: unknown source {source!r}")
    values: dict[str, np.ndarray] = {}
    order: list[str] = []
    for col in canonical:
        if source == "disbursements" and col in ("school_year", "semester"):
            if "term_code" in rec and col == "school_year":
                terms = _school_year_columns(r)
                values.update(terms)
                order.extend(c for c in ("school_year", "semester") if c in terms)
                continue
            if "term_code" in rec:
                continue
        if col not in rec:
            continue
        s = rec[col]
        if col == "id_number":
            v = r.ids(s)
        elif col == "name":
            v = r.names(s)
        elif col in DATE_COLUMNS:
            v = r.dates(s, col)
        elif col in MONTH_COLUMNS:
            v = r.months(s)
        elif col == "amount" and source == "disbursements":
            v = r.money(s)
        else:
            v = texts(s)
            if col == "township":
                v = r.township(v)
            elif col == "status":
                v = r.status(v)
            elif col == "grade":
                v = r.grades(v)
            elif col == "program" and source == "disbursements":
                v = r.programs(v)
        values[col] = v
        order.append(col)
    for col in order:
        if col not in SPECIAL_COLUMNS:
            values[col] = r.fullwidth_text(values[col])
    if r.excel and r.rng.random() < 0.6:
        for col in order:
            if col in NUMBER_CELL_COLUMNS:
                values[col] = r.number_cells(values[col])
    extra = _extra_columns(r, amount_cents(rec) if source == "disbursements" else None)
    for key, v in extra.items():
        values[key] = v
        if key == PHONE and "name" in order and r.rng.random() < 0.5:
            order.insert(order.index("name") + 1, key)
        else:
            order.append(key)
    if r.cfg.header_variants and len(order) > 3 and r.rng.random() < 0.15:
        j = int(r.rng.integers(1, len(order) - 1))
        order[j], order[j + 1] = order[j + 1], order[j]
        r.count("column_order")
    return order, values


@dataclass
class Sheet:
    name: str | None
    rows: np.ndarray  # record indices, in output order
    top: list[list]  # rows above the header
    title_merge: int | None  # index in top of a title row merged across the header
    header_row: int  # 0-based physical row of the header
    data_rows: np.ndarray  # 0-based physical row of each record in `rows`
    footer: list[list]
    footer_start: int  # 0-based physical row of the first footer row


def _snapshot_hint(r: Renderer) -> dt.date | None:
    """A plausible date for the sign-off row: the newest date in the file, else the
    month in the file name."""
    best = None
    for col in ("paid_on", "recorded_on", "closed_on"):
        if col in r.records and r.n:
            vals = [to_date(v) for v in pd.unique(r.records[col].to_numpy(dtype=object))]
            vals = [v for v in vals if v is not None]
            if vals:
                best = max([*vals, best] if best else vals)
    if best is not None:
        return best + dt.timedelta(days=int(r.rng.integers(1, 4)))
    m = re.search(r"((?:19|20)\d\d)(?:年|-)?(\d{1,2})", r.req.file_stem)
    if m and 1 <= int(m.group(2)) <= 12:
        return dt.date(int(m.group(1)), int(m.group(2)), int(r.rng.integers(1, 29)))
    return None


def _top_rows(r: Renderer, width: int) -> tuple[list[list], int | None]:
    rng, req = r.rng, r.req
    top: list[list] = []
    merge = None
    if req.title:
        row = [req.title]
        if not r.excel and rng.random() < 0.5:
            row += [""] * (width - 1)
        if r.excel and width > 1 and rng.random() < 0.6:
            merge = len(top)
            r.count("merged_title")
        top.append(row)
        r.count("title_row")
    if req.subtitle:
        parts = [p for p in re.split(r"\s{2,}|\u3000+", req.subtitle.strip()) if p]
        if len(parts) > 1 and width > len(parts) and rng.random() < 0.6:
            row = [""] * width
            step = max(1, width // len(parts))
            for k, p in enumerate(parts):
                row[min(k * step, width - 1)] = p
            if not r.excel and rng.random() < 0.5:
                row = row[: max(i for i, c in enumerate(row) if c) + 1]
        else:
            row = [req.subtitle]
        top.append(row)
        r.count("subtitle_row")
    if rng.random() < 0.3:
        top.append([""] * width if not r.excel else [])
        r.count("blank_before_header")
    return top, merge


def _footer_rows(
    r: Renderer, order: list[str], rows: np.ndarray, cents: np.ndarray | None, when
) -> tuple[list[list], Decimal | None]:
    rng, req, width = r.rng, r.req, len(order)
    footer: list[list] = []
    stated = None
    if req.with_total:
        row = [""] * max(width, 2)
        row[0] = "合计" if rng.random() < 0.85 else "总计"
        if req.source == "disbursements" and "amount" in order and cents is not None:
            total = int(cents[rows].sum())
            row[order.index("amount")] = q.yuan_text(total, decimals=True, thousands=True)
            stated = (Decimal(total) / 100).quantize(Decimal("0.01"))
        else:
            unit = PEOPLE_COUNT_UNIT.get(req.source, "人")
            row[min(int(rng.integers(1, 4)), len(row) - 1)] = f"{len(rows)}{unit}"
        footer.append(row if r.excel or rng.random() < 0.5 else _trim(row))
        r.count("total_row")
    if req.with_signoff:
        row = [""] * width
        a, b = (q.CLERKS[int(i)] for i in rng.choice(len(q.CLERKS), 2, replace=False))
        second = min(int(rng.integers(2, 5)), width - 1)
        if when is not None and rng.random() < 0.5:
            row[0] = "导出人：系统管理员"
            stamp = f"{when.isoformat()} {int(rng.integers(8, 19)):02d}:{int(rng.integers(60)):02d}"
            row[second] = f"导出时间：{stamp}"
        else:
            row[0] = f"制表人：{a}"
            row[second] = f"审核人：{b}"
        if second == 0:
            row = [f"{row[0]}  审核人：{b}"]
        footer.append(row if r.excel or rng.random() < 0.5 else _trim(row))
        r.count("signoff_row")
    return footer, stated


def _trim(row: list) -> list:
    filled = [i for i, c in enumerate(row) if c != ""]
    return row[: filled[-1] + 1] if filled else row


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_groups(r: Renderer) -> list[tuple[str | None, np.ndarray]]:
    req = r.req
    if not r.excel:
        return [(None, np.arange(r.n))]
    default = ("Sheet1", "明细", "数据", "Sheet0", "导出数据")[int(r.rng.integers(5))]
    if not req.sheet_by or req.sheet_by not in r.records:
        return [(default, np.arange(r.n))]
    keys = texts(r.records[req.sheet_by])
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    groups, used = [], set()
    for j, u in enumerate(uniques):
        name = _BAD_SHEET_CHARS.sub("", u)[:31] or "未分组"
        base, k = name, 2
        while name.lower() in used:
            name = f"{base[:28]}_{k}"
            k += 1
        used.add(name.lower())
        groups.append((name, order[bounds[j] : bounds[j + 1]]))
    if len(groups) > 1:
        r.count("multi_sheet", len(groups))
    return groups or [(default, np.arange(0))]


def plan_sheets(r, order, groups, blank_after, cents) -> tuple[list[Sheet], Decimal | None]:
    width = len(order)
    when = _snapshot_hint(r) if r.req.with_signoff else None
    sheets, stated = [], None
    for name, rows in groups:
        top, merge = _top_rows(r, width)
        header_row = len(top)
        blanks = blank_after[rows].astype(np.int64)
        before = np.concatenate(([0], np.cumsum(blanks)[:-1])) if len(rows) else blanks
        data_rows = header_row + 1 + np.arange(len(rows)) + before
        end = header_row + 1 + len(rows) + int(blanks.sum())
        footer, st = _footer_rows(r, order, rows, cents, when)
        if st is not None:
            stated = st if stated is None else stated + st
        sheets.append(Sheet(name, rows, top, merge, header_row, data_rows, footer, end))
        r.count("blank_row", int(blanks.sum()))
    return sheets, stated


def merge_runs(values: np.ndarray, data_rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs (first, last index) of equal consecutive non-empty values on adjacent rows."""
    n = len(values)
    if n < 2:
        return []
    same = (values[1:] == values[:-1]) & (np.diff(data_rows) == 1)
    same &= values[1:] != ""
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.concatenate((starts[1:] - 1, [n - 1]))
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b > a]
