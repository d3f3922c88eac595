"""The auditors' findings workbook, read back with openpyxl from a tiny hand-made audit.duckdb.

Expectations are written out here, not computed by the code under test.
"""

from __future__ import annotations

import hashlib
import zipfile
from datetime import datetime, timedelta, timezone

import duckdb
import openpyxl
import pytest

from orchestration.publish import publish
from orchestration.quality import CheckResult
from orchestration.reports import workbook
from orchestration.reports.workbook import (
    Finding,
    FindingType,
    looks_like_formula,
    ordered_types,
    sheet_names,
    term_label,
    write_findings_workbook,
)
from orchestration.settings import get_settings

ID_X = "42039920090505123X"  # the check character X
ID_ZERO = "000123200001010011"  # leading zeros: a number would drop them
ID_P3 = "420399201112131234"
ID_P4 = "420399201503040021"
EVIL_NAME = '=HYPERLINK("http://x","y")'
PLUS_EVIDENCE = "+2019年秋季学期重复发放625.00元"
AT_EVIDENCE = "@SUM(A1) 同一学期同一项目发放两次"

FIELDS = [
    "finding_key",
    "finding_type",
    "term_code",
    "person_key",
    "id_number",
    "person_name",
    "school_code",
    "school_name",
    "program_code",
    "program_name",
    "severity",
    "severity_rank",
    "finding_name_cn",
    "amount_yuan",
    "evidence",
    "source_lines",
]
FINDINGS = [
    ("f1", "PAID_AFTER_DEATH", "2019-autumn", "p1", ID_X, EVIL_NAME, "S2", "第二小学",
     "NONBOARD", "义务教育非寄宿生生活补助", "critical", 1, "死亡后仍发放", "250.00",
     "该生于2019-11-01死亡，仍发放250.00元", "明细_第1批.csv 第7694行"),
    ("f2", "DUPLICATE_PAYMENT", "2020-spring", "p2", ID_ZERO, "李红", "S1", "第一小学",
     "NONBOARD", "义务教育非寄宿生生活补助", "critical", 1, "重复发放", "625.00",
     PLUS_EVIDENCE, "明细_第1批.csv 第3行；明细_第2批.csv 第9行"),
    ("f3", "DUPLICATE_PAYMENT", "2019-autumn", "p2", ID_ZERO, "李红", "S1", "第一小学",
     "BOARD", "寄宿生生活补助", "critical", 1, "重复发放", "625.00",
     "重复发放625.00元", "明细_第1批.csv 第4行"),
    ("f4", "DUPLICATE_PAYMENT", "2019-autumn", "p3", ID_P3, "王五", "S0", "中心学校",
     "HS_GRANT", "普通高中国家助学金", "critical", 1, "重复发放", "1000.50",
     AT_EVIDENCE, "明细_第1批.csv 第5行"),
    # autumn 2020 comes after spring 2020, though 'autumn' < 'spring' as text
    ("f7", "DUPLICATE_PAYMENT", "2020-autumn", "p3", ID_P3, "王五", "S0", "中心学校",
     "HS_GRANT", "普通高中国家助学金", "critical", 1, "重复发放", "100.00",
     "重复发放100.00元", "明细_第3批.csv 第1行"),
    ("f5", "OUT_OF_SCHOOL_CHILD", "2020-spring", "p4", ID_P4, "赵六", None, None,
     None, None, "high", 2, "适龄儿童失学辍学", None, "该儿童11岁，未在学籍中在读", None),
    ("f6", "OUT_OF_SCHOOL_CHILD", "2019-autumn", "p4", ID_P4, "赵六", None, None,
     None, None, "high", 2, "适龄儿童失学辍学", None, "该儿童10岁，未在学籍中在读", None),
]  # fmt: skip

SEED_ORDER = [
    ("PAID_AFTER_DEATH", "死亡后仍发放", "严重"),
    ("DUPLICATE_PAYMENT", "重复发放", "严重"),
    ("PAID_NOT_ENROLLED", "非在读学生获得资助", "高"),
    ("INELIGIBLE_RECIPIENT", "不符合资助条件", "高"),
    ("STAGE_MISMATCH", "资助项目与学段不符", "高"),
    ("MISSED_ELIGIBLE", "应助未助", "高"),
    ("OUT_OF_SCHOOL_CHILD", "适龄儿童失学辍学", "高"),
    ("AMOUNT_MISMATCH", "发放金额与标准不符", "中"),
    ("DUPLICATE_ENROLLMENT", "重复学籍", "中"),
    ("IDENTITY_CONFLICT", "身份信息冲突", "中"),
]
HEADERS = (
    "线索编号",
    "学期",
    "身份证号",
    "姓名",
    "学校代码",
    "学校名称",
    "资助项目代码",
    "资助项目名称",
    "金额（元）",
    "严重程度",
    "问题描述",
    "来源文件及行号",
)
GENERATED_AT = datetime(2021, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))


def make_audit_db(path):
    with duckdb.connect(str(path)) as con:
        con.execute("""
            create table audit_finding (
                finding_key varchar, finding_type varchar, term_code varchar,
                person_key varchar, id_number_masked varchar, program_code varchar,
                school_code varchar, severity varchar, finding_name_cn varchar,
                disbursement_keys varchar[], source_lines varchar, evidence varchar,
                severity_rank integer, amount_yuan decimal(12, 2), id_number varchar,
                person_name varchar, school_name varchar, program_name varchar)
        """)
        for values in FINDINGS:
            row = dict(zip(FIELDS, values, strict=True))
            row["id_number_masked"] = row["id_number"][:6] + "********" + row["id_number"][-4:]
            row["disbursement_keys"] = [row["finding_key"] + "-d"] if row["amount_yuan"] else []
            columns, marks = ", ".join(row), ", ".join("?" * len(row))
            con.execute(
                f"insert into audit_finding ({columns}) values ({marks})", list(row.values())
            )
    return path


@pytest.fixture
def audit_db(tmp_path):
    return make_audit_db(tmp_path / "audit.duckdb")


@pytest.fixture
def book(audit_db, tmp_path):
    target = tmp_path / "out" / "问题线索.xlsx"
    counts = write_findings_workbook(audit_db, target, generated_at=GENERATED_AT)
    return counts, target, openpyxl.load_workbook(target)


def rows(sheet, min_row=1):
    return [tuple(r) for r in sheet.iter_rows(min_row=min_row, values_only=True)]


def test_the_summary_lists_every_seed_type_in_severity_order_with_counts_and_a_total(book):
    counts, _, wb = book
    assert wb.sheetnames[0] == "汇总"
    sheet = wb["汇总"]
    values = rows(sheet)
    notes = [r[0] for r in values[:4]]
    assert any("问题线索" in n and "核实" in n for n in notes)
    assert "生成时间：2021-03-04 05:06（北京时间）" in notes

    header = values.index(
        ("问题类型", "问题名称", "严重程度", "线索数", "涉及人数", "涉及金额（元）")
    )
    expected = {
        "PAID_AFTER_DEATH": (1, 1, 250),
        "DUPLICATE_PAYMENT": (4, 2, 2350.5),
        "OUT_OF_SCHOOL_CHILD": (2, 1, 0),
    }
    assert values[header + 1 : header + 11] == [
        (code, name, severity, *expected.get(code, (0, 0, 0)))
        for code, name, severity in SEED_ORDER
    ]
    # persons distinct over all types: p1, p2, p3, p4
    assert values[header + 11] == ("合计", None, None, 7, 4, 2600.5)
    assert values[header + 12 :] == []
    assert sheet.cell(header + 11, 6).number_format == "#,##0.00"
    assert sheet.freeze_panes == f"A{header + 2}"

    assert counts == {code: expected.get(code, (0,))[0] for code, _, _ in SEED_ORDER}


def test_each_type_has_its_own_sheet_with_exactly_its_findings(book):
    _, _, wb = book
    assert wb.sheetnames == ["汇总"] + [name for _, name, _ in SEED_ORDER]

    paid_after_death = wb["死亡后仍发放"]
    assert rows(paid_after_death) == [
        HEADERS,
        ("f1", "2019年秋季学期", ID_X, EVIL_NAME, "S2", "第二小学", "NONBOARD",
         "义务教育非寄宿生生活补助", 250, "严重", "该生于2019-11-01死亡，仍发放250.00元",
         "明细_第1批.csv 第7694行"),
    ]  # fmt: skip

    # by term in time order, then school code, then finding key
    duplicate = rows(wb["重复发放"], min_row=2)
    assert [(r[0], r[1], r[4]) for r in duplicate] == [
        ("f4", "2019年秋季学期", "S0"),
        ("f3", "2019年秋季学期", "S1"),
        ("f2", "2020年春季学期", "S1"),
        ("f7", "2020年秋季学期", "S0"),
    ]
    assert duplicate[0] == (
        "f4", "2019年秋季学期", ID_P3, "王五", "S0", "中心学校", "HS_GRANT",
        "普通高中国家助学金", 1000.5, "严重", AT_EVIDENCE, "明细_第1批.csv 第5行",
    )  # fmt: skip
    assert duplicate[2][10] == PLUS_EVIDENCE
    assert duplicate[2][11] == "明细_第1批.csv 第3行；明细_第2批.csv 第9行"

    # findings without a payment: no school, programme, amount or source line
    assert rows(wb["适龄儿童失学辍学"], min_row=2) == [
        ("f6", "2019年秋季学期", ID_P4, "赵六", None, None, None, None, None, "高",
         "该儿童10岁，未在学籍中在读", None),
        ("f5", "2020年春季学期", ID_P4, "赵六", None, None, None, None, None, "高",
         "该儿童11岁，未在学籍中在读", None),
    ]  # fmt: skip

    assert rows(wb["重复学籍"]) == [HEADERS]  # a type without findings: the header alone


def test_id_numbers_are_text_and_amounts_are_numbers_with_two_decimals(book):
    _, _, wb = book
    sheet = wb["重复发放"]
    ids = [sheet.cell(r, 3) for r in range(2, 6)]
    assert [c.value for c in ids] == [ID_P3, ID_ZERO, ID_ZERO, ID_P3]  # f4, f3, f2, f7
    assert all(c.data_type == "s" for c in ids)
    assert wb["死亡后仍发放"]["C2"].value == ID_X
    amount = sheet.cell(2, 9)
    assert amount.data_type == "n" and amount.value == 1000.5
    assert amount.number_format == "#,##0.00"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L5"
    assert sheet.column_dimensions["K"].width > sheet.column_dimensions["D"].width


def test_no_cell_is_a_formula(book):
    _, target, wb = book
    cells = [c for sheet in wb for row in sheet.iter_rows() for c in row if c.value is not None]
    assert len(cells) > 100
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    # and no formula element anywhere in the file's XML
    with zipfile.ZipFile(target) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_formula_looking_text_is_kept_as_text_with_the_quote_prefix(book):
    """The name and the evidence are what the registry holds, unchanged, in text cells; the
    quote prefix (Excel's `'` typed before `=`) keeps them text when a person edits them."""
    _, _, wb = book
    name = wb["死亡后仍发放"]["D2"]
    assert (name.value, name.data_type, name.quotePrefix) == (EVIL_NAME, "s", True)
    evidence = wb["重复发放"]["K2"]  # f4's
    assert (evidence.value, evidence.data_type, evidence.quotePrefix) == (AT_EVIDENCE, "s", True)
    plain = wb["重复发放"]["D2"]  # 王五
    assert (plain.value, plain.data_type, plain.quotePrefix) == ("王五", "s", False)


@pytest.mark.parametrize(
    # ("\r=1" too, but openpyxl reads a carriage return back as the escape _x000D_)
    "name",
    ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "=1+1", "\t=1"],
)
def test_no_formula_ever_reaches_the_workbook(name, tmp_path):
    """Issue 12: a name such as =HYPERLINK(...) in a registry is written as a text cell, its
    value unchanged, never as a formula."""
    path = tmp_path / "audit.duckdb"
    make_audit_db(path)
    with duckdb.connect(str(path)) as con:
        con.execute("update audit_finding set person_name = ?, evidence = ?", [name, name])
    target = tmp_path / "问题线索.xlsx"
    write_findings_workbook(path, target, generated_at=GENERATED_AT)
    wb = openpyxl.load_workbook(target)
    cells = [
        c
        for sheet in wb.worksheets[1:]
        for row in sheet.iter_rows(min_row=2)
        for c in (row[3], row[10])  # 姓名, 问题描述
    ]
    assert len(cells) == 2 * len(FINDINGS)
    assert {(c.value, c.data_type, c.quotePrefix) for c in cells} == {(name, "s", True)}
    with zipfile.ZipFile(target) as z:
        assert not any(
            b"<f>" in z.read(n) or b"<f " in z.read(n)
            for n in z.namelist()
            if n.startswith("xl/worksheets/")
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', True),
        ("+86 138", True),
        ("-1+1", True),
        ("@SUM(A1)", True),
        ("\t=1", True),
        ("\r=1", True),
        ("李红", False),
        ("a=b", False),
        ("", False),
        ("'already", False),
        (None, False),
        (-5, False),
    ],
)
def test_looks_like_formula(value, expected):
    assert looks_like_formula(value) is expected


def test_sheet_names_are_valid_for_excel_and_unique():
    names = sheet_names(["a[b]:c*d?e/f\\g", "汇总", "X" * 40, "x" * 40, "'引号'", "History"])
    assert names == [
        "a_b__c_d_e_f_g",
        "汇总（2）",
        "X" * 31,
        "x" * 28 + "（2）",
        "引号",
        "History（2）",
    ]
    assert all(len(n) <= 31 for n in names)


def test_a_type_missing_from_the_seed_still_gets_its_sheet_after_the_seed_types():
    seed = [FindingType("B", "high", 2, "乙"), FindingType("A", "critical", 1, "甲")]
    finding = Finding("f", "NEW", None, None, None, None, None, None, None, None, None, "low",
                      None, None)  # fmt: skip
    assert [(t.code, t.name_cn) for t in ordered_types(seed, [finding])] == [
        ("A", "甲"),
        ("B", "乙"),
        ("NEW", "NEW"),
    ]


def test_term_label():
    assert term_label("2019-autumn") == "2019年秋季学期"
    assert term_label("2020-spring") == "2020年春季学期"
    assert term_label("2020-summer") == "2020-summer"
    assert term_label(None) is None


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_without_findings_leaves_the_previous_workbook_untouched(book, tmp_path):
    _, target, _ = book
    before = sha256(target)
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()

    with pytest.raises(duckdb.CatalogException, match="audit_finding"):
        write_findings_workbook(empty, target)

    assert sha256(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_a_write_failing_halfway_leaves_the_previous_workbook_untouched(
    book, audit_db, monkeypatch
):
    _, target, _ = book
    before = sha256(target)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(workbook, "_write_finding_sheet", fail)
    with pytest.raises(OSError, match="disk full"):
        write_findings_workbook(audit_db, target)

    assert sha256(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def make_build_db(path):
    """The least a build database needs to publish: a mart, and the restricted tables that
    dbt's models/restricted/ builds (here the hand-made findings, a formula-looking name
    among them)."""
    make_audit_db(path)
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "restricted"):
            con.execute(f"create schema {schema}")
        con.execute("create table restricted.audit_finding as select * from main.audit_finding")
        con.execute(
            "create table restricted.audit_finding_payment_line (finding_key varchar, "
            "disbursement_key varchar)"
        )
        con.execute("insert into restricted.audit_finding_payment_line values ('f1', 'f1-d')")
        con.execute("create table marts.fct_audit_finding as select finding_key, finding_type, "
                    "term_code, person_key from main.audit_finding")  # fmt: skip
        con.execute("drop table main.audit_finding")
    return path


def test_the_published_audit_database_makes_the_workbook_with_names_as_text(tmp_path):
    """From the build database through the publisher to the workbook: the registry's name
    `=HYPERLINK(...)` arrives as it was, a text cell, never a formula."""
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    make_build_db(warehouse / "build.duckdb")
    settings = get_settings({"EDUAID_WAREHOUSE": str(warehouse)})
    passed = CheckResult(
        "expect_column_values_to_not_be_null", "x", "critical", True, unexpected_count=0
    )

    published = publish(settings, {"fct_disbursement": [passed]})
    counts = write_findings_workbook(published.audit, tmp_path / "book.xlsx")

    assert counts["PAID_AFTER_DEATH"] == 1
    cell = openpyxl.load_workbook(tmp_path / "book.xlsx")["死亡后仍发放"]["D2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (EVIL_NAME, "s", True)
