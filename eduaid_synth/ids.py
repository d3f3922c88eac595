"""Chinese resident ID numbers (GB 11643-1999): check characters, vectorised generation."""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * int(w) for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def is_valid(id18: str) -> bool:
    return (
        len(id18) == 18
        and id18[:17].isdigit()
        and id18[17] in "0123456789X"
        and check_char(id18[:17]) == id18[17]
    )


def wrong_check_char(id18: str) -> str:
    """The same ID with a check character that fails (a one-character typo)."""
    good = id18[17]
    for c in "0123456789":
        if c != good:
            return id18[:17] + c
    raise AssertionError("unreachable")


def make_ids(area: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Vectorised 18-digit IDs.

    area: 6-digit area codes (int), birth: datetime64[D], seq: 3-digit sequence
    numbers (odd for men, even for women).
    """
    b = birth.astype("datetime64[D]")
    years = b.astype("datetime64[Y]").astype(int) + 1970
    months = b.astype("datetime64[M]").astype(int) % 12 + 1
    days = (b - b.astype("datetime64[M]")).astype(int) + 1
    digits = np.zeros((len(area), 17), dtype=np.int64)
    cols = [
        (area, 6),
        (years, 4),
        (months, 2),
        (days, 2),
        (seq, 3),
    ]
    pos = 0
    for values, width in cols:
        v = np.asarray(values, dtype=np.int64).copy()
        for i in range(width - 1, -1, -1):
            digits[:, pos + i] = v % 10
            v //= 10
        pos += width
    total = (digits * WEIGHTS).sum(axis=1) % 11
    check = np.array(list(CHECK_CHARS))[total]
    out = (
        np.char.zfill(np.asarray(area).astype(str), 6).astype(object)
        + np.char.zfill(years.astype(str), 4).astype(object)
        + np.char.zfill(months.astype(str), 2).astype(object)
        + np.char.zfill(days.astype(str), 2).astype(object)
        + np.char.zfill(np.asarray(seq).astype(str), 3).astype(object)
        + check.astype(object)
    )
    return out


def valid_ids(values) -> np.ndarray:
    """Vectorised ``is_valid`` over a column (None and non-strings are invalid)."""
    s = pd.Series(values, dtype=object).fillna("").astype(str)
    ok = s.str.fullmatch(r"\d{17}[\dX]").to_numpy()
    out = np.zeros(len(s), bool)
    if ok.any():
        digits = np.array([list(x[:17]) for x in s[ok]], dtype=np.int64)
        check = np.array(list(CHECK_CHARS))[(digits * WEIGHTS).sum(axis=1) % 11]
        out[ok] = check == s[ok].str[17].to_numpy()
    return out
