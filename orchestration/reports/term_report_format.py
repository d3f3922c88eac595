"""How the term report orders and formats its figures; Python does nothing else to them.

Rows go in the order of the seeds (`aid_programs.csv`, the standards table's order;
`stages.csv`), with codes the seeds do not know last; yuan become 万元 with two decimals,
halves rounded away from zero (`wan_yuan`); rates become percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from orchestration.seeds import read_seed

WAN = Decimal(10000)
CENT = Decimal("0.01")


def wan_yuan(yuan) -> Decimal:
    """Yuan to 万元 with two decimals, halves rounded away from zero (as people round)."""
    return (Decimal(str(yuan or 0)) / WAN).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_wan(yuan) -> str:
    return f"{wan_yuan(yuan):,.2f}"


def fmt_count(n) -> str:
    return f"{int(n or 0):,}"


def fmt_pct(rate) -> str:
    """0.75 -> '75.00%'; no rate (nothing to divide by) -> '—'."""
    if rate is None or rate != rate:  # NaN from a division by zero upstream
        return "—"
    return f"{(Decimal(str(rate)) * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True)
class Program:
    code: str
    name: str
    stages: str


def read_programs() -> list[Program]:
    return [
        Program(r["program_code"], r["program_name"], r["stages"])
        for r in read_seed("aid_programs.csv")
    ]


def read_stage_names() -> dict[str, str]:
    rows = sorted(read_seed("stages.csv"), key=lambda r: int(r["stage_order"]))
    return {r["stage"]: r["stage_name_cn"] for r in rows}


def in_seed_order(seed: Sequence[str], found: Iterable[str]) -> list[str]:
    """The seed's codes in its order, then codes found in the data but not in the seed
    (sorted), so that nothing the marts hold is left out of a table."""
    codes = list(seed)
    codes += sorted({c for c in found if c is not None and c not in set(seed)})
    return codes
