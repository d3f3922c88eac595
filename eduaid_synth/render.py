"""Write one export file in the messy shape of the input contract (raw_exports.md).

The world model hands over clean records in canonical columns; this module decides
only how they are spelled and laid out: encoding, title/subtitle/totals/sign-off rows,
header aliases, extra columns, sheets, merged cells, blank rows, and per-value
spellings of IDs, names, dates, money, grades, statuses, programmes and terms.

Rule: every quirk applied here is lossless. Each written value cleans back (by the
contract's rules) to exactly the clean input value; lossy problems (mangled or
invalid IDs, duplicate lines, refunds) arrive already planted in the records.

The CSV path is column-wise: spellings are computed on the unique values of a column
(dates, money, grades …) or on the sampled subset a quirk touches (IDs, names), never
per cell of the whole file, and rows are written by the C ``csv`` writer in chunks.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from . import quirks as q

SOURCES = ("households", "students", "schools", "disbursements", "population", "dropout_ledger")

DATE_COLUMNS = ("birth_date", "paid_on", "recorded_on", "closed_on", "died_on")
MONTH_COLUMNS = ("enrolled_on",)
# Columns with their own spelling rules; the generic full-width quirk leaves them alone.
SPECIAL_COLUMNS = frozenset(("id_number", "name", "amount", *DATE_COLUMNS, *MONTH_COLUMNS))
SUFFIX_SOURCES = frozenset(("households", "population", "dropout_ledger"))
MERGE_COLUMNS = ("county", "township")
# Small integers that Excel users type as numbers (a year, a class, a statistics code).
NUMBER_CELL_COLUMNS = frozenset(("identified_year", "exit_year", "class", "urban_rural"))
PEOPLE_COUNT_UNIT = {"schools": "所", "disbursements": "条"}
XLS_MAX_ROWS = 65535
XLSX_MAX_ROWS = 1_048_576
CSV_CHUNK_ROWS = 200_000
FIXED_CREATED = dt.datetime(2020, 1, 1, 8, 0, 0)
REMARK, PHONE = "_remark", "_phone"  # keys of the extra columns
EXTRA_HEADERS = {REMARK: "备注", PHONE: "联系电话"}


@dataclass(frozen=True)
class QuirkConfig:
    """Per-value rates (or per-file switches) of the lossless quirks."""

    id_apostrophe: float = 0.03
    id_spaces: float = 0.02
    id_fullwidth: float = 0.02
    id_lowercase_x: float = 0.5  # of IDs whose check char is X
    id_15_digit: float = 0.3  # of IDs of people born 19xx (adults), households only
    name_inner_space: float = 0.02
    name_trailing_space: float = 0.02
    name_ideographic_space: float = 0.01
    name_dot_variant: float = 0.5  # of names containing ·
    fullwidth_text: float = 0.01  # other text cells folded to full-width (digits, parens)
    township_suffix: float = 0.05  # 城关镇 -> 城关镇人民政府 (乡 -> 乡人民政府)
    status_synonym: float = 0.2  # 在读 -> 在校 / 正常
    grade_spelling: float = 0.3  # 七年级 -> 初一 / 初中一年级, 高一 -> 高中一年级 …
    program_variant: float = 0.4  # canonical programme name -> a listed variant
    date_form_mix: bool = True  # vary date spellings within a file
    money_form_mix: bool = True
    blank_rows: float = 0.002  # blank line inserted after a record
    extra_columns: float = 0.3  # chance a file gets 备注 / 联系电话 columns
    header_variants: bool = True  # alias choice, stray spaces, full-width parentheses


@dataclass(frozen=True)
class FileRequest:
    source: str
    file_stem: str
    records: pd.DataFrame
    fmt: str = "csv"  # "csv" | "xlsx" | "xls"
    encoding: str = "utf-8"  # csv only: "utf-8" | "utf-8-sig" | "gbk" (gb18030 bytes)
    title: str | None = None
    subtitle: str | None = None
    with_total: bool = False
    with_signoff: bool = False
    sheet_by: str | None = None  # Excel only
    hidden_sheet: bool = False  # Excel only
    instructions_sheet: bool = False  # Excel only
    merge_cells: bool = False  # Excel only
    quirk_seed: int = 0
    # When set, header aliases rotate with it (file k of a source uses alias k mod n of
    # each family), so that a source's files together use every alias; else random.
    alias_rotation: int | None = None


@dataclass
class RenderedFile:
    path: Path
    source: str
    fmt: str
    encoding: str | None
    sheets: list[str]
    locations: pd.DataFrame  # sheet_name, row_number (1-based), one row per input record
    stated_total: Decimal | None
    header: list[str]
    quirks: collections.Counter = field(default_factory=collections.Counter)


class RenderError(ValueError):
    """A request that cannot be written as asked (the message names the file)."""


# --------------------------------------------------------------------------- values


def _cell_text(v: object) -> str:
    if v is None or v is pd.NaT or v is pd.NA:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if f != f:
            return ""
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _texts(s: pd.Series) -> np.ndarray:
    """A column as an object array of str ('' for missing), vectorised where possible."""
    if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_extension_array_dtype(
        s.dtype
    ):
        return s.astype(str).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(s.dtype) and not pd.api.types.is_extension_array_dtype(s.dtype):
        a = s.to_numpy(dtype=float)
        ok = ~np.isnan(a)
        out = np.full(len(a), "", dtype=object)
        whole = ok & (a == np.floor(a))
        out[whole] = a[whole].astype(np.int64).astype(str).astype(object)
        for i in np.flatnonzero(ok & ~whole):
            out[i] = repr(float(a[i]))
        return out
    arr = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return arr
    kind = pd.api.types.infer_dtype(arr, skipna=True)
    if kind in ("string", "empty"):
        mask = pd.isna(arr)
        if mask.any():
            arr = arr.copy()
            arr[mask] = ""
        return arr
    if kind == "integer":  # ints with gaps (an object column): str(int(v)), '' for missing
        mask = pd.isna(arr)
        out = np.full(len(arr), "", dtype=object)
        out[~mask] = arr[~mask].astype(np.int64).astype(str).astype(object)
        return out
    return np.array([_cell_text(v) for v in arr] or [], dtype=object)


def _to_date(v: object) -> dt.date | None:
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).date()
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            return None
    return None


def _obj_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class _Renderer:
    """State of one file render: request, config, RNG and the quirk counter."""

    def __init__(self, req: FileRequest, cfg: QuirkConfig):
        self.req = req
        self.cfg = cfg
        self.excel = req.fmt in ("xlsx", "xls")
        self.rng = np.random.default_rng([int(req.quirk_seed) & (2**63 - 1), 0x5EED])
        self.counter: collections.Counter = collections.Counter()
        self.records = req.records.reset_index(drop=True)
        self.n = len(self.records)
        self.seeds = q.seeds()

    def count(self, name: str, k: int | np.integer = 1) -> None:
        if k:
            self.counter[name] += int(k)

    def sample(self, rate: float) -> np.ndarray:
        """Rows a per-value quirk touches (always draws, so the stream stays aligned)."""
        if rate <= 0:
            self.rng.random(0)
            return np.zeros(self.n, dtype=bool)
        return self.rng.random(self.n) < rate

    # ----------------------------------------------------------------- per-column

    def ids(self, s: pd.Series) -> np.ndarray:
        cfg, rng, n = self.cfg, self.rng, self.n
        vals = _texts(s)
        out = vals.copy()
        apos = self.sample(cfg.id_apostrophe)
        space = self.sample(cfg.id_spaces)
        full = self.sample(cfg.id_fullwidth)
        low = self.sample(cfg.id_lowercase_x)
        old = (
            self.sample(cfg.id_15_digit)
            if self.req.source == "households"
            else np.zeros(n, dtype=bool)
        )
        form = rng.integers(0, 3, n)
        valid, check, maybe_e = _id_facts(vals)
        old &= valid & (check[1] == ord("1")) & (check[2] == ord("9"))
        low &= valid & (check[0] == ord("X")) & ~old
        touched = (apos | space | full) & valid | low | old
        for i in np.flatnonzero(touched):
            v = vals[i]
            if old[i]:
                v = q.id_to_15(v)
                self.count("id_15_digit")
            elif low[i]:
                v = v[:17] + "x"
                self.count("id_lowercase_x")
            if space[i]:
                v = q.id_spaced(v, int(form[i]))
                self.count("id_spaces")
            if full[i]:
                v = q.fullwidth(v)
                self.count("id_fullwidth")
            if apos[i]:
                v = "'" + v
                self.count("id_apostrophe")
            out[i] = v
        for i in np.flatnonzero(maybe_e):
            if q.E_NOTATION.fullmatch(vals[i]):
                self.count("id_excel_mangled")
                if self.excel:  # what Excel really holds: a number shown as 4.20399E+17
                    out[i] = float(vals[i])
        return out

    def names(self, s: pd.Series) -> np.ndarray:
        cfg, rng, n = self.cfg, self.rng, self.n
        vals = _texts(s)
        out = vals.copy()
        inner = self.sample(cfg.name_inner_space)
        trail = self.sample(cfg.name_trailing_space)
        ideo = self.sample(cfg.name_ideographic_space)
        dotted = self.sample(cfg.name_dot_variant)
        pick = rng.random(n)
        pick2 = rng.random(n)
        dotted &= _rows_containing(vals, "·")
        for i in np.flatnonzero(inner | trail | ideo | dotted):
            v = vals[i]
            if dotted[i] and "·" in v:
                v = v.replace("·", q.DOT_VARIANTS[int(pick2[i] * len(q.DOT_VARIANTS))])
                self.count("name_dot_variant")
            for flag, sep, name in (
                (inner[i], " ", "name_inner_space"),
                (ideo[i], q.IDEOGRAPHIC_SPACE, "name_ideographic_space"),
            ):
                if flag:
                    gaps = q.han_gaps(v)
                    if gaps:
                        g = gaps[int(pick[i] * len(gaps))]
                        v = v[:g] + sep + v[g:]
                        self.count(name)
            if trail[i] and v:
                v = v + " "
                self.count("name_trailing_space")
            out[i] = v
        return out

    def dates(self, s: pd.Series, column: str) -> np.ndarray:
        forms = list(q.DATE_FORMS)
        if self.excel:
            forms = [f for f in forms if f != "serial"] + [q.DATE_CELL, q.DATE_SERIAL_NUMBER]
        weights = q.pick_weights(self.rng, len(forms), self.cfg.date_form_mix)
        if self.excel and self.rng.random() < 0.5:  # most Excel exports hold real dates
            weights = weights * 0.3
            weights[forms.index(q.DATE_CELL)] += 0.7
        return self._by_unique(s, forms, weights, _to_date, q.format_date, _date_quirk)

    def months(self, s: pd.Series) -> np.ndarray:
        forms = list(q.MONTH_FORMS)
        weights = q.pick_weights(self.rng, len(forms), self.cfg.date_form_mix)
        return self._by_unique(s, forms, weights, _to_date, q.format_month, lambda f: f"month_{f}")

    def money(self, s: pd.Series) -> np.ndarray:
        forms = list(q.MONEY_FORMS) + ([q.MONEY_NUMBER] if self.excel else [])
        weights = q.pick_weights(self.rng, len(forms), self.cfg.money_form_mix)
        if self.excel and self.rng.random() < 0.5:
            weights = weights * 0.3
            weights[forms.index(q.MONEY_NUMBER)] += 0.7

        def cents(v):
            if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
                return None
            return int(v)

        return self._by_unique(s, forms, weights, cents, q.format_money, lambda f: f"money_{f}")

    def _by_unique(self, s, forms, weights, convert, fmt, quirk_name) -> np.ndarray:
        """Spell a column with few distinct values: one spelling per (value, form)."""
        n, k = self.n, len(forms)
        out = np.full(n, "", dtype=object)
        if n == 0:
            return out
        codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
        clean = [convert(u) for u in uniques]
        if np.count_nonzero(weights) == 1:
            form = np.full(n, int(np.argmax(weights)), dtype=np.int64)
        else:
            form = self.rng.choice(k, size=n, p=weights)
        valid = codes >= 0
        bad = np.array([c is None for c in clean] or [False], dtype=bool)
        if len(clean):
            valid &= ~bad[np.where(codes >= 0, codes, 0)]
        key = codes[valid].astype(np.int64) * k + form[valid]
        ukeys, inverse = np.unique(key, return_inverse=True)
        spelled = _obj_array([fmt(clean[int(u // k)], forms[int(u % k)]) for u in ukeys])
        out[valid] = spelled[inverse]
        # values the world gave that are not dates/amounts: written as given
        odd = (codes >= 0) & ~valid
        if odd.any():
            out[odd] = [_cell_text(uniques[c]) for c in codes[odd]]
        for j, cnt in enumerate(np.bincount(form[valid], minlength=k)):
            self.count(quirk_name(forms[j]), cnt)
        return out

    def township(self, vals: np.ndarray) -> np.ndarray:
        if self.req.source not in SUFFIX_SOURCES or self.cfg.township_suffix <= 0:
            return vals
        codes, uniques = pd.factorize(vals)
        draw = self.rng.random(len(uniques))
        out = vals
        for j, u in enumerate(uniques):
            if draw[j] < self.cfg.township_suffix and u.endswith(("镇", "乡")):
                rows = codes == j
                if out is vals:
                    out = vals.copy()
                out[rows] = u + "人民政府"
                self.count("township_suffix", rows.sum())
        return out

    def status(self, vals: np.ndarray) -> np.ndarray:
        if self.req.source != "students":
            return vals
        syn = self.seeds.status_synonyms.get("在读", ())
        hit = self.sample(self.cfg.status_synonym) & (vals == "在读")
        if not syn or not hit.any():
            return vals
        out = vals.copy()
        pick = self.rng.integers(0, len(syn), hit.sum())
        out[hit] = _obj_array(list(syn))[pick]
        self.count("status_synonym", hit.sum())
        return out

    def _variants(self, vals, table: dict, rate: float, quirk: str, canonical=None):
        """Replace sampled values by a listed variant (per unique value)."""
        hit = self.sample(rate)
        pick = self.rng.random(self.n)
        codes, uniques = pd.factorize(vals)
        out = vals.copy()
        for j, u in enumerate(uniques):
            rows = codes == j
            if canonical is not None:
                out[rows] = canonical.get(u, u)
            options = table.get(u, ())
            if not options:
                continue
            sel = rows & hit
            if sel.any():
                idx = (pick[sel] * len(options)).astype(np.int64)
                out[sel] = _obj_array(list(options))[idx]
                self.count(quirk, sel.sum())
        return out

    def grades(self, vals):
        return self._variants(
            vals, self.seeds.grade_variants, self.cfg.grade_spelling, "grade_spelling"
        )

    def programs(self, vals):
        out = self._variants(
            vals,
            self.seeds.program_variants,
            self.cfg.program_variant,
            "program_variant",
            canonical=self.seeds.program_names,
        )
        # Aliases are stored folded; exports mostly write their parentheses full-width.
        paren = pd.Series(out, dtype=object).str.contains("(", regex=False).to_numpy(bool)
        paren &= self.rng.random(self.n) < 0.7
        if paren.any():
            out[paren] = [v.translate(q.FULLWIDTH_PARENS) for v in out[paren]]
            self.count("program_fullwidth_paren", paren.sum())
        return out

    def fullwidth_text(self, vals: np.ndarray) -> np.ndarray:
        hit = self.sample(self.cfg.fullwidth_text)
        idx = np.flatnonzero(hit)
        if not len(idx):
            return vals
        out = vals.copy()
        for i in idx:
            v = vals[i]
            if isinstance(v, str):
                w = q.fullwidth(v)
                if w != v:
                    out[i] = w
                    self.count("fullwidth_text")
        return out

    def number_cells(self, vals: np.ndarray) -> np.ndarray:
        """Excel: small integers typed as numbers (a year 2014 is a number cell)."""
        out = vals.copy()
        k = 0
        for i, v in enumerate(vals):
            if isinstance(v, str) and v.isdigit() and len(v) <= 9 and (v == "0" or v[0] != "0"):
                out[i] = int(v)
                k += 1
        self.count("numeric_cell", k)
        return out


def _date_quirk(form: str) -> str:
    if form in ("serial", q.DATE_SERIAL_NUMBER):
        return "excel_serial_date"
    if form == q.DATE_CELL:
        return "date_cell"
    return f"date_{form}"


_ID_CHECK_CODES = np.array([ord(c) for c in q.ID_CHECK], dtype=np.uint32)
_ID_WEIGHTS = np.array(q.ID_WEIGHTS, dtype=np.int32)


def _id_facts(vals: np.ndarray, chunk: int = 1_000_000):
    """Vectorised over a column of str: which values are valid 18-character IDs, their
    check character and 7th/8th characters (century), and which might be E-notation."""
    n = len(vals)
    valid = np.zeros(n, dtype=bool)
    check = np.zeros((3, n), dtype=np.uint32)
    maybe_e = np.zeros(n, dtype=bool)
    for start in range(0, n, chunk):
        part = vals[start : start + chunk].astype("U19")
        codes = part.view(np.uint32).reshape(len(part), 19)
        sl = slice(start, start + len(part))
        digits = codes[:, :17].astype(np.int32) - 48
        ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
        ok &= (codes[:, 17] != 0) & (codes[:, 18] == 0)
        want = _ID_CHECK_CODES[(np.where(ok[:, None], digits, 0) @ _ID_WEIGHTS) % 11]
        valid[sl] = ok & (codes[:, 17] == want)
        check[0, sl], check[1, sl], check[2, sl] = codes[:, 17], codes[:, 6], codes[:, 7]
        maybe_e[sl] = ((codes == 69) | (codes == 101)).any(axis=1)  # 'E' / 'e'
    return valid, check, maybe_e


def _rows_containing(vals: np.ndarray, chars: str) -> np.ndarray:
    """Which str values contain any of ``chars``, without a Python-level test per value."""
    n = len(vals)
    out = np.zeros(n, dtype=bool)
    if not n:
        return out
    big = "\x00".join(vals.tolist())
    if not any(c in big for c in chars):
        return out
    lens = np.fromiter(map(len, vals), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lens + 1)[:-1]))
    pattern = "[" + re.escape(chars) + "]"
    pos = [m.start() for m in re.finditer(pattern, big)]
    out[np.searchsorted(starts, pos, side="right") - 1] = True
    return out


# --------------------------------------------------------------------------- columns


def _school_year_columns(r: _Renderer) -> dict[str, np.ndarray]:
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
            raw = "" if c < 0 else _cell_text(uniques[c])
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
        return {"semester": _obj_array(sem_vals)[inverse]}
    r.count(f"school_year_{sy_form}", n)
    r.count("semester_alt_word", int((other_word).sum()))
    return {
        "school_year": _obj_array(sy_vals)[inverse],
        "semester": _obj_array(sem_vals)[inverse],
    }


def _extra_columns(r: _Renderer, amount_cents: np.ndarray | None) -> dict[str, np.ndarray]:
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
        remark[other] = _obj_array(list(q.OTHER_REMARKS))[pick[other]]
        if amount_cents is not None:
            refund = amount_cents < 0
            pick = rng.integers(0, len(q.REFUND_REMARKS), n)
            remark[refund] = _obj_array(list(q.REFUND_REMARKS))[pick[refund]]
        out[REMARK] = remark
        r.count("extra_column_remark")
    if PHONE in which:
        phone = rng.integers(13_000_000_000, 19_999_999_999, n).astype(str).astype(object)
        phone[rng.random(n) < 0.4] = ""
        out[PHONE] = phone
        r.count("extra_column_phone")
    return out


def _header_text(r: _Renderer, key: str) -> str:
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


def _amount_cents(rec: pd.DataFrame) -> np.ndarray | None:
    if "amount" not in rec:
        return None
    return pd.to_numeric(rec["amount"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


def _render_columns(r: _Renderer) -> tuple[list[str], dict[str, np.ndarray]]:
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
            v = _texts(s)
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
    extra = _extra_columns(r, _amount_cents(rec) if source == "disbursements" else None)
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


# --------------------------------------------------------------------------- layout


@dataclass
class _Sheet:
    name: str | None
    rows: np.ndarray  # record indices, in output order
    top: list[list]  # rows above the header
    title_merge: int | None  # index in top of a title row merged across the header
    header_row: int  # 0-based physical row of the header
    data_rows: np.ndarray  # 0-based physical row of each record in `rows`
    footer: list[list]
    footer_start: int  # 0-based physical row of the first footer row


def _snapshot_hint(r: _Renderer) -> dt.date | None:
    """A plausible date for the sign-off row: the newest date in the file, else the
    month in the file name."""
    best = None
    for col in ("paid_on", "recorded_on", "closed_on"):
        if col in r.records and r.n:
            vals = [_to_date(v) for v in pd.unique(r.records[col].to_numpy(dtype=object))]
            vals = [v for v in vals if v is not None]
            if vals:
                best = max([*vals, best] if best else vals)
    if best is not None:
        return best + dt.timedelta(days=int(r.rng.integers(1, 4)))
    m = re.search(r"((?:19|20)\d\d)(?:年|-)?(\d{1,2})", r.req.file_stem)
    if m and 1 <= int(m.group(2)) <= 12:
        return dt.date(int(m.group(1)), int(m.group(2)), int(r.rng.integers(1, 29)))
    return None


def _top_rows(r: _Renderer, width: int) -> tuple[list[list], int | None]:
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
    r: _Renderer, order: list[str], rows: np.ndarray, cents: np.ndarray | None, when
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


def _sheet_groups(r: _Renderer) -> list[tuple[str | None, np.ndarray]]:
    req = r.req
    if not r.excel:
        return [(None, np.arange(r.n))]
    default = ("Sheet1", "明细", "数据", "Sheet0", "导出数据")[int(r.rng.integers(5))]
    if not req.sheet_by or req.sheet_by not in r.records:
        return [(default, np.arange(r.n))]
    keys = _texts(r.records[req.sheet_by])
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


def _layout(r, order, groups, blank_after, cents) -> tuple[list[_Sheet], Decimal | None]:
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
        sheets.append(_Sheet(name, rows, top, merge, header_row, data_rows, footer, end))
        r.count("blank_row", int(blanks.sum()))
    return sheets, stated


def _merge_runs(values: np.ndarray, data_rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs (first, last index) of equal consecutive non-empty values on adjacent rows."""
    n = len(values)
    if n < 2:
        return []
    same = (values[1:] == values[:-1]) & (np.diff(data_rows) == 1)
    same &= values[1:] != ""
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.concatenate((starts[1:] - 1, [n - 1]))
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b > a]


# --------------------------------------------------------------------------- writers


def _write_csv(path: Path, r: _Renderer, order, values, header, sheet: _Sheet) -> None:
    enc = r.req.encoding.lower().replace("_", "-")
    if enc in ("gbk", "gb2312", "gb18030"):
        codec, bom = "gb18030", b""
        r.count("gbk")
    elif enc == "utf-8-sig":
        codec, bom = "utf-8", b"\xef\xbb\xbf"
        r.count("utf8_bom")
    elif enc in ("utf-8", "utf8"):
        codec, bom = "utf-8", b""
        r.count("utf8")
    else:
        raise RenderError(f"{r.req.file_stem}: unsupported CSV encoding {r.req.encoding!r}")
    eol = "\r\n" if r.rng.random() < 0.6 else "\n"
    if eol == "\r\n":
        r.count("crlf")
    n_phys = sheet.footer_start - sheet.header_row - 1
    slots = sheet.data_rows - sheet.header_row - 1
    cols = []
    for key in order:
        full = np.full(n_phys, "", dtype=object)
        full[slots] = values[key][sheet.rows]
        cols.append(_csv_quoted(full))

    def small(rows) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=eol).writerows(rows)
        return buf.getvalue().encode(codec)

    with open(path, "wb") as fh:
        fh.write(bom + small([*sheet.top, header]))
        for start in range(0, n_phys, CSV_CHUNK_ROWS):
            part = [c[start : start + CSV_CHUNK_ROWS].tolist() for c in cols]
            text = eol.join(map(",".join, zip(*part, strict=True))) + eol
            fh.write(text.encode(codec))
        fh.write(small(sheet.footer))


def _csv_quoted(col: np.ndarray) -> np.ndarray:
    """Quote the cells that need it (a money 1,250.00), as the csv module would."""
    flagged = _rows_containing(col, ',"\r\n')
    if not flagged.any():
        return col
    out = col.copy()
    out[flagged] = ['"' + v.replace('"', '""') + '"' for v in col[flagged]]
    return out


def _excel_data(r, order, values, sheet: _Sheet, merge: bool):
    """Per-column cells of a sheet, and the vertical merge ranges (row0, row1, col)."""
    cols = [values[k][sheet.rows] for k in order]
    merges = []
    if merge:
        for j, key in enumerate(order):
            if key not in MERGE_COLUMNS:
                continue
            col = cols[j].copy()
            for a, b in _merge_runs(cols[j], sheet.data_rows):
                col[a + 1 : b + 1] = ""
                merges.append((int(sheet.data_rows[a]), int(sheet.data_rows[b]), j, cols[j][a]))
            cols[j] = col
    return cols, merges


def _instructions() -> list[str]:
    return [
        "说明",
        "1. 本表由系统导出，请勿修改表头。",
        "2. 身份证号码请以文本格式录入，勿转换为数字。",
        "3. 日期格式：YYYY-MM-DD；金额单位：元。",
    ]


def _stale_rows(r, order, values) -> list[list]:
    k = min(r.n, int(r.rng.integers(5, 30)))
    idx = np.sort(r.rng.choice(r.n, k, replace=False)) if k else np.arange(0)
    return [[values[c][i] for c in order] for i in idx]


def _sheet_plan(r: _Renderer, sheets: list[_Sheet]) -> list[tuple[str, object]]:
    """Workbook order: (kind, payload) with kind data | hidden | instructions."""
    plan: list[tuple[str, object]] = [("data", s) for s in sheets]
    if r.req.hidden_sheet:
        plan.insert(min(1, len(plan)), ("hidden", None))
        r.count("hidden_sheet")
    if r.req.instructions_sheet:
        if r.rng.random() < 0.3:
            plan.insert(0, ("instructions", None))
        else:
            plan.append(("instructions", None))
        r.count("instructions_sheet")
    return plan


def _extra_sheet_names(r: _Renderer, taken: set[str]) -> tuple[str, str]:
    hidden = ("旧数据", "Sheet2", "历史数据", "备份")[int(r.rng.integers(4))]
    while hidden.lower() in taken:
        hidden += "_"
    instr = ("填表说明", "说明")[int(r.rng.integers(2))]
    while instr.lower() in taken:
        instr = "填表" + instr
    return hidden, instr


def _check_rows(r: _Renderer, sheets: list[_Sheet]) -> None:
    limit = XLS_MAX_ROWS if r.req.fmt == "xls" else XLSX_MAX_ROWS
    for s in sheets:
        rows = s.footer_start + len(s.footer)
        if rows > limit:
            raise RenderError(
                f"{r.req.file_stem}.{r.req.fmt}: sheet {s.name!r} needs {rows} rows, more "
                f"than the {limit} a .{r.req.fmt} sheet holds; split it (sheet_by) or use "
                "another format"
            )


def _write_xlsx(path, r, order, values, header, sheets, plan) -> None:
    import xlsxwriter

    merge = r.req.merge_cells
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": not merge,  # merges are written after the rows
            "default_date_format": "yyyy-mm-dd",
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": FIXED_CREATED, "author": "", "comments": ""})
    taken = {s.name.lower() for s in sheets}
    hidden_name, instr_name = _extra_sheet_names(r, taken)
    width = len(order)
    for kind, s in plan:
        if kind == "instructions":
            ws = wb.add_worksheet(instr_name)
            for i, line in enumerate(_instructions()):
                ws.write_string(i, 0, line)
            continue
        if kind == "hidden":
            ws = wb.add_worksheet(hidden_name)
            ws.write_row(0, 0, header)
            for i, row in enumerate(_stale_rows(r, order, values), 1):
                ws.write_row(i, 0, row)
            ws.hide()
            continue
        ws = wb.add_worksheet(s.name)
        for i, row in enumerate(s.top):
            if i == s.title_merge:
                ws.merge_range(i, 0, i, width - 1, row[0])
            elif row:
                ws.write_row(i, 0, row)
        ws.write_row(s.header_row, 0, header)
        cols, merges = _excel_data(r, order, values, s, merge)
        write_row = ws.write_row
        for phys, row in zip(s.data_rows.tolist(), zip(*cols, strict=True), strict=True):
            write_row(phys, 0, row)
        for i, row in enumerate(s.footer):
            write_row(s.footer_start + i, 0, row)
        for r0, r1, c, v in merges:
            ws.merge_range(r0, c, r1, c, v)
        r.count("merged_cells", len(merges))
    wb.close()


def _write_xls(path, r, order, values, header, sheets, plan) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    taken = {s.name.lower() for s in sheets}
    hidden_name, instr_name = _extra_sheet_names(r, taken)
    width = len(order)

    def put(ws, i, row):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if v.__class__ is dt.date:
                ws.write(i, j, v, date_style)
            else:
                ws.write(i, j, v)

    for kind, s in plan:
        if kind == "instructions":
            ws = wb.add_sheet(instr_name)
            for i, line in enumerate(_instructions()):
                ws.write(i, 0, line)
            continue
        if kind == "hidden":
            ws = wb.add_sheet(hidden_name)
            put(ws, 0, header)
            for i, row in enumerate(_stale_rows(r, order, values), 1):
                put(ws, i, row)
            ws.visibility = 1
            continue
        ws = wb.add_sheet(s.name)
        for i, row in enumerate(s.top):
            if i == s.title_merge:
                ws.write_merge(i, i, 0, width - 1, row[0])
            else:
                put(ws, i, row)
        put(ws, s.header_row, header)
        cols, merges = _excel_data(r, order, values, s, r.req.merge_cells)
        for phys, row in zip(s.data_rows.tolist(), zip(*cols, strict=True), strict=True):
            put(ws, phys, row)
        for i, row in enumerate(s.footer):
            put(ws, s.footer_start + i, row)
        for r0, r1, c, _v in merges:
            ws.merge(r0, r1, c, c)
        r.count("merged_cells", len(merges))
    wb.save(str(path))


# --------------------------------------------------------------------------- entry


def render(req: FileRequest, out_dir: Path, cfg: QuirkConfig = QuirkConfig()) -> RenderedFile:
    """Write ``req`` to ``out_dir/<file_stem>.<fmt>`` and say where every record went."""
    if req.source not in SOURCES:
        raise RenderError(f"{req.file_stem}: unknown source {req.source!r}")
    if req.fmt not in ("csv", "xlsx", "xls"):
        raise RenderError(f"{req.file_stem}: unknown format {req.fmt!r}")
    r = _Renderer(req, cfg)
    order, values = _render_columns(r)
    header = [_header_text(r, k) for k in order]
    cents = _amount_cents(r.records) if req.source == "disbursements" else None
    groups = _sheet_groups(r)
    blank_after = r.sample(cfg.blank_rows)
    if not order:
        raise RenderError(f"{req.file_stem}: no column of {req.source!r} in the records")
    sheets, stated = _layout(r, order, groups, blank_after, cents)

    path = Path(out_dir) / f"{req.file_stem}.{req.fmt}"  # the stem may name a county's folder
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet_names: list[str] = []
    if req.fmt == "csv":
        _write_csv(path, r, order, values, header, sheets[0])
    else:
        _check_rows(r, sheets)
        plan = _sheet_plan(r, sheets)
        writer = _write_xlsx if req.fmt == "xlsx" else _write_xls
        writer(path, r, order, values, header, sheets, plan)
        sheet_names = [s.name for s in sheets]

    sheet_col = np.full(r.n, None, dtype=object)
    row_col = np.zeros(r.n, dtype=np.int64)
    for s in sheets:
        sheet_col[s.rows] = s.name
        row_col[s.rows] = s.data_rows + 1
    locations = pd.DataFrame({"sheet_name": sheet_col, "row_number": row_col})
    return RenderedFile(
        path=path,
        source=req.source,
        fmt=req.fmt,
        encoding=req.encoding if req.fmt == "csv" else None,
        sheets=sheet_names,
        locations=locations,
        stated_total=stated if req.with_total else None,
        header=header,
        quirks=r.counter,
    )


__all__ = ["SOURCES", "FileRequest", "QuirkConfig", "RenderError", "RenderedFile", "render"]
