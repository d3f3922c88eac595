"""Each broken input gives a clear error naming the file and loses nothing else."""

import random
import shutil

import xlsxwriter

from .conftest import SAMPLES, put

GOOD_SCHOOLS = (SAMPLES / "schools" / "学校名录_202009.csv").read_bytes()
POPULATION = (SAMPLES / "population" / "适龄人口_2020-09.csv").read_text("utf-8")
STUDENTS_GBK = (SAMPLES / "students" / "学籍信息_202009.csv").read_bytes()


def load_with_good_neighbour(warehouse):
    """Load, and check that the good file next to the broken one still loaded in full."""
    put(warehouse.landing, "schools", "学校名录_202009.csv", GOOD_SCHOOLS)
    summary = warehouse.load()
    assert (
        warehouse.one("select count(*) from raw.schools where _file_name = '学校名录_202009.csv'")
        == 5
    )
    return summary


def rejected(warehouse, file_name):
    m = warehouse.manifest(file_name)
    assert m["status"] == "rejected"
    assert m["rows_loaded"] == 0 and m["rows_read"] == 0
    assert file_name in m["error"]
    return m["error"]


def test_truncated_csv_quarantines_the_cut_row(warehouse):
    cut = POPULATION.index("420399201106110580,周婷,女,") + len("420399201106110580,周婷,女,")
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION[:cut])
    load_with_good_neighbour(warehouse)
    m = warehouse.manifest("适龄人口_202010.csv")
    assert (m["status"], m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (
        "loaded", 3, 2, 1,
    )  # fmt: skip
    row, reason, text = warehouse.one(
        "select row_number, reason, raw_text from raw.quarantine where file_name = ?",
        ["适龄人口_202010.csv"],
    )
    assert row == 4
    assert "wrong number of cells: 4, the header has 8" in reason
    assert text == "420399201106110580,周婷,女,"


def test_truncated_gbk_csv_inside_a_character(warehouse):
    cut = STUDENTS_GBK.index("孙 一".encode("gbk")) + 4  # half-way through 一
    put(warehouse.landing, "students", "学籍信息_202010.csv", STUDENTS_GBK[:cut])
    load_with_good_neighbour(warehouse)
    m = warehouse.manifest("学籍信息_202010.csv")
    assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (7, 6, 1)
    row, reason = warehouse.one(
        "select row_number, reason from raw.quarantine where file_name = '学籍信息_202010.csv'"
    )
    assert row == 9 and "undecodable" in reason


def test_rows_with_wrong_cell_counts_mid_file(warehouse):
    lines = POPULATION.splitlines()
    lines[2] += ",extra"  # row 3: one cell too many
    lines.insert(4, '420399201204040715,"unclosed quote,女,2012-04-04,中峰镇,x,正常,')
    put(warehouse.landing, "population", "适龄人口_202011.csv", "\n".join(lines) + "\n")
    load_with_good_neighbour(warehouse)
    m = warehouse.manifest("适龄人口_202011.csv")
    assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (6, 4, 2)
    rows = warehouse.sql(
        "select row_number, reason from raw.quarantine where file_name = '适龄人口_202011.csv' "
        "order by 1"
    )
    assert [r[0] for r in rows] == [3, 5]
    assert "9, the header has 8" in rows[0][1]


def test_unexpected_encoding(warehouse):
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION.encode("utf-16"))
    load_with_good_neighbour(warehouse)
    assert "UTF-16" in rejected(warehouse, "适龄人口_202010.csv")


def test_big5_is_not_mistaken_for_data(warehouse):
    text = "公民身份號碼,姓名,出生日期,人口狀態\n420399200901050121,王小明,2009-01-05,正常\n"
    put(warehouse.landing, "population", "適齡人口_202010.csv", text.encode("big5"))
    load_with_good_neighbour(warehouse)
    error = rejected(warehouse, "適齡人口_202010.csv")
    assert "no header row" in error and "gb18030" in error


def test_binary_garbage_named_csv(warehouse):
    put(warehouse.landing, "students", "学籍信息_202010.csv", random.Random(7).randbytes(5000))
    load_with_good_neighbour(warehouse)
    assert "not a text file" in rejected(warehouse, "学籍信息_202010.csv")


def test_empty_file(warehouse):
    put(warehouse.landing, "students", "学籍信息_202010.csv", b"")
    load_with_good_neighbour(warehouse)
    assert "empty file" in rejected(warehouse, "学籍信息_202010.csv")


def test_header_only_file(warehouse):
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION.splitlines()[0] + "\n")
    load_with_good_neighbour(warehouse)
    assert "no data rows" in rejected(warehouse, "适龄人口_202010.csv")


def test_missing_required_column(warehouse):
    lines = [
        ",".join(line.split(",")[:3] + line.split(",")[4:]) for line in POPULATION.splitlines()
    ]
    put(warehouse.landing, "population", "适龄人口_202010.csv", "\n".join(lines))
    load_with_good_neighbour(warehouse)
    error = rejected(warehouse, "适龄人口_202010.csv")
    assert "missing required column birth_date (出生日期)" in error


def test_xlsx_with_only_an_instructions_sheet(warehouse):
    path = warehouse.landing / "households" / "建档立卡贫困人口_202010.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("填表说明")
    sheet.write(0, 0, "本表由系统导出，请勿修改表头。")
    book.close()
    load_with_good_neighbour(warehouse)
    error = rejected(warehouse, "建档立卡贫困人口_202010.xlsx")
    assert "no data sheet" in error and "填表说明 (instructions)" in error


def test_text_named_xlsx(warehouse):
    put(warehouse.landing, "households", "建档立卡贫困人口_202010.xlsx", "县,乡镇\n")
    load_with_good_neighbour(warehouse)
    assert "not a readable Excel workbook" in rejected(warehouse, "建档立卡贫困人口_202010.xlsx")


def test_unknown_extension(warehouse):
    put(warehouse.landing, "population", "适龄人口_202010.txt", POPULATION)
    load_with_good_neighbour(warehouse)
    assert "unknown file type '.txt'" in rejected(warehouse, "适龄人口_202010.txt")


def test_file_name_without_month(warehouse):
    put(warehouse.landing, "population", "适龄人口.csv", POPULATION)
    load_with_good_neighbour(warehouse)
    assert "no snapshot month" in rejected(warehouse, "适龄人口.csv")


def test_disbursement_names_are_free(warehouse):
    shutil.copytree(SAMPLES / "disbursements", warehouse.landing / "disbursements")
    (warehouse.landing / "disbursements" / "示范县2020年秋季学期学生资助发放明细.csv").rename(
        warehouse.landing / "disbursements" / "发放明细.csv"
    )
    load_with_good_neighbour(warehouse)
    assert warehouse.manifest("发放明细.csv")["rows_loaded"] == 11


def test_rejected_file_is_retried(warehouse):
    put(warehouse.landing, "population", "适龄人口_202010.csv", b"")
    warehouse.load()
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION)
    warehouse.load()
    statuses = warehouse.sql("select status, rows_loaded from raw.load_manifest order by 1")
    assert statuses == [("loaded", 5), ("rejected", 0)]  # the empty version stays on record
    assert warehouse.one("select count(*) from raw.population") == 5


def test_a_rejected_file_delivered_again_under_another_name(warehouse):
    """Issue 12: the same bad bytes under a second name crashed the ingest (a duplicate
    manifest key) and the sources after it were never loaded."""
    put(warehouse.landing, "households", "建档立卡_202010.csv", b"\x00\x01junk")
    put(warehouse.landing, "households", "建档立卡_202010_copy.csv", b"\x00\x01junk")
    put(warehouse.landing, "population", "适龄人口_202010.csv", POPULATION)
    summary = load_with_good_neighbour(warehouse)
    assert [f.status for f in summary.files if f.source == "households"] == ["rejected"] * 2
    (error,) = warehouse.sql("select error from raw.load_manifest where status = 'rejected'")
    assert "NUL" in error[0]
    assert warehouse.one("select count(*) from raw.population") == 5  # a later source loaded
    names = warehouse.sql("select file_name from raw.file_sightings where source = 'households'")
    assert sorted(n for (n,) in names) == ["建档立卡_202010.csv", "建档立卡_202010_copy.csv"]
