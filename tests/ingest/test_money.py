"""The money rule is one: a payment list whose amounts are written in every spelling the
rule accepts still reconciles with the total its 合计 row states, because the ingest sums
the loaded amounts with the same macro (orchestration/money.py) that reads the stated
total and that dbt's staging reads amounts with."""

from decimal import Decimal

import duckdb
import pytest

from orchestration import money

from .conftest import SAMPLES, put

PAYMENTS = SAMPLES / "disbursements" / "示范县2020年秋季学期学生资助发放明细.csv"
# one cell per spelling; each is the same number as the sample's own cell
SPELLINGS = {
    "500.00": "￥500.00",
    "250": "RMB 250",
    "-1000": "−1000",  # the Unicode minus a word processor writes for a refund
}


def test_a_list_written_in_other_money_spellings_still_reconciles(warehouse):
    text = PAYMENTS.read_bytes().decode("gbk")
    for plain, spelled in SPELLINGS.items():
        assert f",{plain}," in text
        text = text.replace(f",{plain},", f",{spelled},", 1)
    put(warehouse.landing, "disbursements", PAYMENTS.name, text)  # UTF-8: GBK has no −
    warehouse.load()
    m = warehouse.manifest(PAYMENTS.name)
    assert m["stated_total"] == Decimal("13925.00")  # the sample's 合计 row
    assert m["loaded_total"] == Decimal("13925.00")
    assert m["is_total_reconciled"] is True


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("−625", Decimal("-625")),
        ("－６２５", Decimal("-625")),
        ("RMB 12.5", Decimal("12.5")),
        ("人民币625元", Decimal(625)),
        ("$3", Decimal(3)),
        ("12.345", Decimal("12.35")),  # decimal(18, 2), as the marts hold it
        ("1e3", None),
        ("0x10", None),
        ("625 元 整", None),
    ],
)
def test_the_money_rule_reads_every_spelling(text, value):
    con = duckdb.connect()
    money.register(con)
    in_sql = con.execute(f"select {money.FUNCTION}(?)", [text]).fetchone()[0]
    assert in_sql == value
    assert money.parse_amount(text) == value  # the same macro, from Python


@pytest.mark.parametrize(
    ("number", "text"), [(625, "625"), (312.5, "312.5"), (-1000.0, "-1000"), (12.345, "12.345")]
)
def test_a_number_cell_is_read_as_its_text_would_be(number, text):
    """An xlsx cell holds a number, a CSV cell text: both end as the same yuan and fen."""
    assert money.parse_amount(number) == money.parse_amount(text)
    assert money.parse_amount(number).as_tuple().exponent == -2
