"""The six sample exports load exactly as tests/fixtures/samples/README.md says."""

from decimal import Decimal

import pytest

EXPECTED_ROWS = {
    "schools": 5,
    "households": 7,
    "students": 7,
    "disbursements": 11,
    "population": 5,
    "dropout_ledger": 1,
}


@pytest.fixture
def loaded(samples_warehouse):
    summary = samples_warehouse.load()
    assert [f.error for f in summary.files if f.error] == []
    return samples_warehouse


def test_every_data_row_lands_and_nothing_else(loaded):
    for source, count in EXPECTED_ROWS.items():
        assert loaded.one(f"select count(*) from raw.{source}") == count, source
    rows = loaded.sql(
        "select source, status, rows_read, rows_loaded, rows_quarantined from raw.load_manifest"
    )
    assert {r[0]: r[1:] for r in rows} == {s: ("loaded", n, n, 0) for s, n in EXPECTED_ROWS.items()}
    assert loaded.one("select count(*) from raw.quarantine") == 0


def test_payment_lines_reconcile_with_the_stated_total(loaded):
    m = loaded.manifest("示范县2020年秋季学期学生资助发放明细.csv")
    assert (m["stated_total"], m["loaded_total"], m["total_kind"]) == (
        Decimal("13925.00"),
        Decimal("13925.00"),
        "amount",
    )
    assert m["is_total_reconciled"] is True
    assert m["encoding"] == "gb18030" and m["snapshot_month"] is None
    students = loaded.manifest("学籍信息_202009.csv")
    assert (students["stated_total"], students["total_kind"]) == (Decimal(7), "count")
    assert students["is_total_reconciled"] is True


def test_lineage_row_numbers_are_physical_rows(loaded):
    # students CSV: title on line 1, header on line 2
    assert loaded.one("select _row_number from raw.students where name = '王小明'") == 3
    # households sheet 城关镇: title, 填报单位, blank, header on row 4
    rows = dict(
        loaded.sql("select name, _row_number from raw.households where _sheet_name = '城关镇'")
    )
    assert rows["王建国"] == 5
    assert rows["王小明"] == 7
    assert loaded.one("select _row_number from raw.disbursements where amount = '-1000'") == 14
    lineage = loaded.sql(
        "select distinct _source, _file_name, _sheet_name, _snapshot_month::varchar "
        "from raw.households"
    )
    assert lineage == [("households", "建档立卡贫困人口_202009.xlsx", "城关镇", "2020-09-01")]
    assert (
        loaded.one(
            "select count(*) from raw.students where _file_sha256 is null or _loaded_at is null "
            "or _delivered_at is null"
        )
        == 0
    )


def test_merged_cells_fill_their_range(loaded):
    assert loaded.sql("select distinct county, township from raw.households") == [
        ("示范县", "城关镇")
    ]


def test_values_are_kept_as_text(loaded):
    ids = dict(loaded.sql("select name, id_number from raw.households"))
    assert ids["李 秀英"] == "420399800615242"  # old 15-digit ID, as text
    assert ids["王小明"] == "'420399200901050121"  # apostrophe kept: cleaning is dbt's job
    assert ids["王小红"] == "４２０３９９２０１３０８２００２４２"
    years = loaded.sql("select distinct identified_year from raw.households order by 1")
    assert years == [("2014",), ("2015",), ("2016",)]
    amounts = [
        r[0] for r in loaded.sql("select amount from raw.disbursements order by _row_number")
    ]
    assert amounts[:5] == ["500.00", "250", "1,000.00", "￥800", "1000元"]
    assert loaded.one("select paid_on from raw.disbursements where _row_number = 6") == "44136"
    # the L student without an ID: an empty cell is null
    assert loaded.one("select id_number from raw.students where name = '孙 一'") is None


def test_instruction_sheet_is_not_data(loaded):
    m = loaded.manifest("建档立卡贫困人口_202009.xlsx")
    assert m["sheets"] == '["城关镇"]'
    assert "填表说明" in m["warnings"]
