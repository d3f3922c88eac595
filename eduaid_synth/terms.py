"""The simulated calendar: terms, their start dates and snapshot months."""

from __future__ import annotations

from datetime import date

TERMS: tuple[str, ...] = (
    "2019-autumn",
    "2020-spring",
    "2020-autumn",
    "2021-spring",
    "2021-autumn",
    "2022-spring",
)


def term_year(term: str) -> int:
    return int(term[:4])


def is_autumn(term: str) -> bool:
    return term.endswith("autumn")


def school_year(term: str) -> int:
    """First calendar year of the school year the term belongs to."""
    return term_year(term) if is_autumn(term) else term_year(term) - 1


def term_start(term: str) -> date:
    """1 September for autumn, 1 March for spring (indicators.md)."""
    return date(term_year(term), 9 if is_autumn(term) else 3, 1)


def school_year_label(term: str) -> str:
    y = school_year(term)
    return f"{y}-{y + 1}"


def term_cn(term: str) -> str:
    return f"{term_year(term)}年{'秋季' if is_autumn(term) else '春季'}学期"


def student_snapshot_month(term: str) -> date:
    """学籍, population and school lists are exported at the start of the term."""
    return date(term_year(term), 9 if is_autumn(term) else 3, 1)


def household_snapshot_month(term: str) -> date:
    """The poverty registry is exported the month before the term starts, so the
    snapshot that decides eligibility in a term is unambiguous (indicators.md)."""
    return date(term_year(term), 8 if is_autumn(term) else 2, 1)


def ledger_snapshot_month(term: str) -> date:
    """The dropout-control ledger is exported mid-term (November / April)."""
    return date(term_year(term), 11 if is_autumn(term) else 4, 1)


def term_end(term: str) -> date:
    """Last day before the next term starts."""
    y = term_year(term)
    return date(y + 1, 2, 28) if is_autumn(term) else date(y, 8, 31)
