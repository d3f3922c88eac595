"""Workbooks: every visible data sheet, merged cells filled, cells rendered as seen."""

import datetime as dt

import xlsxwriter
import xlwt

HEADER = ["乡镇", "户编号", "姓名", "身份证号", "贫困户状态", "识别年度", "备注"]


def write_xlsx(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(path)
    for town, ids in [("城关镇", ["0001", "0002"]), ("中峰镇", ["0003"])]:
        sheet = book.add_worksheet(town)
        sheet.merge_range(0, 0, 0, 6, f"{town}建档立卡贫困人口")
        sheet.write_row(1, 0, HEADER)
        for k, hid in enumerate(ids):
            sheet.write_row(2 + k, 1, [hid, f"人{hid}", "420399200901050121", "未脱贫"])
            sheet.write_number(2 + k, 5, 2014)
        if len(ids) > 1:
            sheet.merge_range(2, 0, 1 + len(ids), 0, town)
        else:
            sheet.write(2, 0, town)
        sheet.write(3 + len(ids), 0, "合计")
        sheet.write(3 + len(ids), 2, f"{len(ids)}人")
    hidden = book.add_worksheet("旧数据")
    hidden.write_row(0, 0, HEADER)
    hidden.write_row(1, 0, ["X镇", "9", "隐藏", "1", "未脱贫"])
    hidden.hide()
    notes = book.add_worksheet("填表说明")
    notes.write(0, 0, "说明")
    book.close()


def test_every_visible_data_sheet_with_merged_cells(warehouse):
    write_xlsx(warehouse.landing / "households" / "建档立卡_202010.xlsx")
    summary = warehouse.load()
    assert summary.files[0].status == "loaded", summary.files[0].error
    rows = warehouse.sql(
        "select _sheet_name, _row_number, township, household_id, identified_year, id_number "
        "from raw.households order by 1 desc, 2"
    )
    assert rows == [
        ("城关镇", 3, "城关镇", "0001", "2014", "420399200901050121"),
        ("城关镇", 4, "城关镇", "0002", "2014", "420399200901050121"),
        ("中峰镇", 3, "中峰镇", "0003", "2014", "420399200901050121"),
    ]
    m = warehouse.manifest("建档立卡_202010.xlsx")
    assert m["sheets"] == '["城关镇", "中峰镇"]'
    assert (m["stated_total"], m["is_total_reconciled"]) == (3, True)
    assert "旧数据" in m["warnings"] and "hidden" in m["warnings"]


def test_old_xls_and_numeric_cells(warehouse):
    path = warehouse.landing / "population" / "适龄人口_202010.xls"
    path.parent.mkdir(parents=True)
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for j, name in enumerate(["公民身份号码", "姓名", "出生日期", "人口状态", "联系电话"]):
        sheet.write(0, j, name)
    sheet.write(1, 0, 420399201204040715)  # a number: Excel shows 4.20399E+17
    sheet.write(1, 1, "郑丽")
    sheet.write(1, 2, dt.date(2012, 4, 4), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(1, 3, "正常")
    sheet.write(1, 4, 13800000000.5)
    book.save(str(path))
    summary = warehouse.load()
    assert summary.files[0].status == "loaded", summary.files[0].error
    row = warehouse.one(
        "select id_number, birth_date, extra_columns, _row_number from raw.population"
    )
    assert row == ("4.20399E+17", "2012-04-04", '{"联系电话":"13800000000.5"}', 2)
