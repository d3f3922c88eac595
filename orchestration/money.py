"""Money in yuan: the one definition of how an amount cell is read.

`1,250.00`, `625元`, `￥625`, `¥625`, `$625`, `625.5`, `RMB 625`, `人民币625`, `-1000`, `−1000`
(the Unicode minus), full-width digits and signs (`１２５０．５`, `－６２５`), spaces of every
kind -> a decimal(18, 2) in yuan; anything else -> null. A negative amount is a refund
(退回, 冲回) and stays negative.

The rule is one DuckDB macro, `eduaid_money_yuan(text)`, created by `register(con)` on a
connection:
- dbt's staging reads amounts with it (the macro `parse_money_yuan` in
  dbt_project/macros/cleaning/money.sql calls it; the dbt-duckdb plugin
  orchestration/dbt/pseudonym_plugin.py registers it on every connection dbt opens);
- the ingest computes a payment list's loaded total with it, to reconcile against the
  total its 合计 row states (orchestration/ingest/sheet.py);
- `parse_amount` below, which reads that stated total from a totals row, runs it too.
So a file's stated total, its loaded total and the marts' amounts are read by one rule.

Light on purpose: importing it imports DuckDB only.
"""

from __future__ import annotations

import threading
from decimal import ROUND_HALF_UP, Decimal

import duckdb

FUNCTION = "eduaid_money_yuan"
FEN = Decimal("0.01")

# full-width digits, point, signs, comma, ideographic space and currency signs; the
# Unicode minus sign (U+2212), which a word processor writes for a refund
_FOLD_FROM = "０１２３４５６７８９．－＋，　￥＄−"
_FOLD_TO = "0123456789.-+, ¥$-"
# separators, currency signs and words, every kind of space (RE2 syntax)
_STRIP = r"[,¥$\s\p{Z}\x{200B}\x{FEFF}]|元|人民币|(?i:rmb)"
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"

MACRO_SQL = f"""
create or replace temp macro {FUNCTION}(amount_text) as
list_transform(
    [regexp_replace(translate(amount_text, '{_FOLD_FROM}', '{_FOLD_TO}'), '{_STRIP}', '', 'g')],
    lambda digits: case
        when regexp_full_match(digits, '{NUMBER}') then try_cast(digits as decimal(18, 2))
    end
)[1]
"""


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the temporary macro `eduaid_money_yuan` on a connection."""
    con.execute(MACRO_SQL)


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect()
        register(con)
        _local.con = con
    return con


def parse_amount(text: object) -> Decimal | None:
    """One cell as yuan, by the macro above; a number (an xlsx cell) rounded to the fen as
    the macro rounds (half away from zero), so both give a decimal(18, 2)."""
    if text is None:
        return None
    if isinstance(text, (int, float, Decimal)) and not isinstance(text, bool):
        return Decimal(str(text)).quantize(FEN, rounding=ROUND_HALF_UP)
    return _connection().execute(f"select {FUNCTION}(?)", [str(text)]).fetchone()[0]
