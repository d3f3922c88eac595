"""Cells: how each value is spelled (IDs, names, dates, money, grades, statuses,
programmes, townships), column-wise on unique values or on the sampled subset a quirk
touches; every spelling cleans back to the value."""

from __future__ import annotations

import collections
import datetime as dt
import re

import numpy as np
import pandas as pd

from .. import quirks as q
from .spec import SUFFIX_SOURCES, FileRequest, QuirkConfig


def cell_text(v: object) -> str:
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


def texts(s: pd.Series) -> np.ndarray:
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
    return np.array([cell_text(v) for v in arr] or [], dtype=object)


def to_date(v: object) -> dt.date | None:
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


def obj_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class Renderer:
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
        vals = texts(s)
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
        vals = texts(s)
        out = vals.copy()
        inner = self.sample(cfg.name_inner_space)
        trail = self.sample(cfg.name_trailing_space)
        ideo = self.sample(cfg.name_ideographic_space)
        dotted = self.sample(cfg.name_dot_variant)
        pick = rng.random(n)
        pick2 = rng.random(n)
        dotted &= rows_containing(vals, "·")
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
        return self._by_unique(s, forms, weights, to_date, q.format_date, _date_quirk)

    def months(self, s: pd.Series) -> np.ndarray:
        forms = list(q.MONTH_FORMS)
        weights = q.pick_weights(self.rng, len(forms), self.cfg.date_form_mix)
        return self._by_unique(s, forms, weights, to_date, q.format_month, lambda f: f"month_{f}")

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
        spelled = obj_array([fmt(clean[int(u // k)], forms[int(u % k)]) for u in ukeys])
        out[valid] = spelled[inverse]
        # values the world gave that are not dates/amounts: written as given
        odd = (codes >= 0) & ~valid
        if odd.any():
            out[odd] = [cell_text(uniques[c]) for c in codes[odd]]
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
        out[hit] = obj_array(list(syn))[pick]
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
                out[sel] = obj_array(list(options))[idx]
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


def rows_containing(vals: np.ndarray, chars: str) -> np.ndarray:
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
