import re
from datetime import date
from decimal import Decimal

import pytest

from orchestration.ingest.excel import excel_general, is_instruction_sheet, render_cell
from orchestration.ingest.reading import (
    TRAILER_HINT_NEEDLES,
    TRAILER_HINT_PATTERN,
    IngestError,
    StatedTotal,
    decode_text,
    find_header_row,
    frame_records,
    map_header,
    missing_columns_error,
    missing_required,
    normalise_header,
    parse_alias_table,
    parse_amount,
    parse_count,
    row_kind,
    snapshot_month,
    stated_total,
)

SPECS = parse_alias_table(
    [
        {"source": "students", "column_name": c, "concept": c, "is_required": r}
        for c, r in [
            ("school_code", "true"),
            ("student_number", "false"),
            ("name", "true"),
            ("id_number", "false"),
            ("grade", "true"),
        ]
    ]
    + [
        {"source": "disbursements", "column_name": c, "concept": c, "is_required": "true"}
        for c in ("name", "id_number", "amount")
    ],
    [
        {"concept": c, "alias": a}
        for c, a in [
            ("school_code", "学校标识码"),
            ("student_number", "全国学籍号"),
            ("name", "姓名"),
            ("id_number", "身份证件号"),
            ("id_number", "身份证号"),
            ("id_number", "公民身份号码"),
            ("grade", "年级"),
            ("amount", "资助金额(元)"),
        ]
    ],
)


@pytest.mark.parametrize(
    ("name", "month"),
    [
        ("建档立卡贫困人口_202009.xlsx", date(2020, 9, 1)),
        ("students_2021-03.csv", date(2021, 3, 1)),
        ("学籍信息2021年3月.csv", date(2021, 3, 1)),
        ("学籍信息2021年11月.csv", date(2021, 11, 1)),
        ("学籍_20200930.csv", date(2020, 9, 1)),
        ("420399_学籍_202009.csv", date(2020, 9, 1)),  # a county code is not a month
        ("学籍２０２００９.csv", date(2020, 9, 1)),  # full-width digits
        ("学籍信息.csv", None),
        ("示范县2020年秋季学期.csv", None),
    ],
)
def test_snapshot_month(name, month):
    assert snapshot_month(name) == month


def test_snapshot_month_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="13"):
        snapshot_month("学籍_202013.csv")


def test_normalise_header_folds_width_and_spaces():
    assert normalise_header("资助金额（元）") == "资助金额(元)"
    assert normalise_header(" 身份证\u3000号 \n") == "身份证号"
    assert normalise_header("*姓名") == "姓名"


def test_header_row_found_below_title_rows():
    rows = [
        ["示范县学生学籍信息"],
        ["填报单位：示范县教育局", "", "填报日期：2020-10-15"],
        [],
        ["学校标识码", "姓名", "年级", "备注"],
        ["2142039901", "王小明", "六年级", ""],
    ]
    assert find_header_row(rows, SPECS["students"]) == 3
    assert find_header_row(rows[:3], SPECS["students"]) is None


def test_header_mapping_and_required_columns():
    spec = SPECS["students"]
    cmap = map_header(["学校标识码", "姓 名", "年级", "备注", "", "身份证号"], spec)
    assert cmap.canonical == {0: "school_code", 1: "name", 2: "grade", 5: "id_number"}
    assert cmap.extra == {3: "备注", 4: "_col5"}
    assert missing_required(cmap, spec) == []
    cmap = map_header(["学校标识码", "姓名", "备注"], spec)
    assert missing_required(cmap, spec) == ["grade (年级)", "student_number or id_number"]


def test_one_vocabulary_serves_every_source_with_the_column():
    # 公民身份号码 is spelled once, for the concept; both sources with an ID accept it
    for source in ("students", "disbursements"):
        cmap = map_header(["姓名", "公民身份号码"], SPECS[source])
        assert cmap.canonical == {0: "name", 1: "id_number"}


def test_a_spelling_is_one_concept_only():
    with pytest.raises(ValueError, match="spells both"):
        parse_alias_table(
            [{"source": "students", "column_name": "name", "concept": "name"}],
            [{"concept": "name", "alias": "姓名"}, {"concept": "grade", "alias": "姓名"}],
        )


def test_a_header_close_to_a_spelling_is_suggested():
    cmap = map_header(["学校标识码", "姓名", "年级", "身份证号吗", "联系电话"], SPECS["students"])
    assert cmap.suggestions == {3: "身份证号"}
    assert cmap.suggestion_notes()[0].startswith('未识别的列 "身份证号吗"，是否为 身份证号？')


def test_missing_column_error_names_file_column_and_found_headers():
    cmap = map_header(["姓名", "身份证号码 ", "资助金额（元）"], SPECS["disbursements"])
    assert cmap.canonical == {0: "name", 2: "amount"}
    error = missing_columns_error("x.csv", cmap, SPECS["disbursements"])
    assert "x.csv" in error.english and "missing required column id_number" in error.english
    assert "headers found: 姓名、身份证号码、资助金额（元）" in error.english
    assert "did you mean 身份证号" in error.english
    assert error.chinese.startswith("x.csv：缺少必需的列 id_number")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,000.00", Decimal("1000.00")),
        ("1000元", Decimal(1000)),
        ("￥800", Decimal(800)),
        ("-1000", Decimal(-1000)),
        ("１２５０．５", Decimal("1250.5")),
        (" 625 ", Decimal(625)),
        ("7人", None),
        ("", None),
        ("abc", None),
    ],
)
def test_parse_amount(text, value):
    assert parse_amount(text) == value


def test_parse_count():
    assert parse_count("7人") == 7
    assert parse_count("11") == 11
    assert parse_count("7.5") is None


@pytest.mark.parametrize(
    ("cells", "kind"),
    [
        (["合计", "", "", "7人"], "total"),
        (["", "合 计", "", "13,925.00"], "total"),
        (["小计", "", "", "3人"], "total"),
        (["城关镇小计", "", "", "3人"], "total"),
        (["总计：", "", "", "3人"], "total"),
        (["制表人：张某", "", "审核人：李某"], "signoff"),
        (["导出人：系统管理员", "", "", "导出时间：2020-09-30 17:02"], "signoff"),
        (["", " ", "\u3000", None], "blank"),
        (["2142039901", "王小明", "六年级", "联系负责人：王老师"], "data"),
        (["2142039901", "合计镇中心小学", "六年级", "x"], "data"),
    ],
)
def test_row_kind(cells, kind):
    assert row_kind(cells) == kind


def test_every_trailer_hint_holds_a_needle():
    """The loader looks for the needles before it runs the trailer pattern: each way the
    pattern can match must contain one, or a totals row would go unseen."""
    for alternative in TRAILER_HINT_PATTERN.split("|"):
        literal = alternative.replace("\\s*", "")
        assert re.fullmatch(TRAILER_HINT_PATTERN, literal), alternative
        assert any(needle in literal for needle in TRAILER_HINT_NEEDLES), alternative


def test_stated_total_amount_and_count():
    rows = [["合计", "", "", "", "13,925.00"]]
    assert stated_total(rows, amount_index=4) == StatedTotal("amount", Decimal("13925.00"))
    assert stated_total([["合计", "", "", "7人"]], None) == StatedTotal("count", Decimal(7))
    # subtotals only: their sum; with a grand total: the grand total
    subtotals = [["小计", "", "100"], ["小计", "", "50"]]
    assert stated_total(subtotals, 2).value == Decimal(150)
    assert stated_total([*subtotals, ["合计", "", "150.00"]], 2).value == Decimal(150)
    assert stated_total([], 2) is None


def test_decode_utf8_bom_and_gbk():
    text = "学校标识码,姓名\n2142039901,王小明\n"
    assert decode_text(text.encode("utf-8"), "f").encoding == "utf-8"
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8"), "f").encoding == "utf-8-sig"
    decoded = decode_text(text.encode("gbk"), "f")
    assert decoded.encoding == "gb18030"
    assert decoded.lines == ["学校标识码,姓名", "2142039901,王小明"]


def test_decode_keeps_good_lines_of_a_damaged_utf8_file():
    data = (
        "姓名,年级\n王小明,六年级\n".encode()
        + "李四,一年级\n".encode("gbk")
        + "赵五,二年级\n".encode()
    )
    decoded = decode_text(data, "f.csv")
    assert decoded.encoding == "utf-8"
    assert decoded.lines[2] is None and 3 in decoded.undecodable
    assert decoded.lines[3] == "赵五,二年级"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        ("姓名".encode("utf-16"), "UTF-16"),
        (b"\x00\x01\x02garbage", "not a text file"),
        (b"PK\x03\x04rest", "Excel workbook"),
    ],
)
def test_decode_rejects_what_is_not_text(data, message):
    with pytest.raises(IngestError, match=message):
        decode_text(data, "f.csv")


def test_frame_records_joins_quoted_newlines_only():
    lines = ["a,b", '1,"x', 'y"', '2,"unclosed', "3,z"]
    assert frame_records(lines) == (
        [(1, "a,b"), (2, '1,"x\ny"'), (5, "3,z")],
        [(4, '2,"unclosed')],
    )
    assert frame_records(["a", None, "b"]) == ([(1, "a"), (3, "b")], [])


def test_excel_cells_render_as_seen():
    import datetime as dt

    assert render_cell(2014.0) == "2014"
    assert render_cell(625.5) == "625.5"
    assert render_cell(420399200901050121.0) == "4.20399E+17"
    assert render_cell(2142039901.0) == "2142039901"
    assert render_cell(1e12) == "1E+12"
    assert render_cell("") is None
    assert render_cell(dt.date(2020, 9, 30)) == "2020-09-30"
    assert render_cell(dt.datetime(2020, 9, 30)) == "2020-09-30"
    assert render_cell(dt.datetime(2020, 9, 30, 8, 5)) == "2020-09-30 08:05:00"
    assert excel_general(123456789012.0) == "1.23457E+11"


def test_instruction_sheets():
    assert is_instruction_sheet("填表说明")
    assert is_instruction_sheet("说明")
    assert not is_instruction_sheet("城关镇")
