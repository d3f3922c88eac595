"""The term report on a tiny hand-made analytics.duckdb, read back from the written HTML.

Expectations are worked out by hand here (the comments show the arithmetic), not computed
by the code under test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import duckdb
import pytest

from orchestration.reports import term_report
from orchestration.reports.term_report import write_term_reports
from orchestration.reports.term_report_format import (
    fmt_pct,
    in_seed_order,
    read_programs,
    wan_yuan,
)
from orchestration.reports.term_report_queries import QUERIES
from reports.term_report_helpers import figures_of, make_analytics_db

GENERATED_AT = datetime(2021, 11, 5, 9, 30, tzinfo=timezone(timedelta(hours=8)))
STANDARDS_TABLE_ORDER = [  # aid_standards.md, top to bottom
    "PRE_AID", "BOARD", "NONBOARD", "HS_GRANT", "HS_FEE",
    "VOC_GRANT", "VOC_FEE", "YULU", "ENTRY", "LOAN",
]  # fmt: skip


# --- formatting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yuan", "wan"),
    [
        ("13925.00", "1.39"),  # the samples' payment lines: 1.3925 万元
        ("12350", "1.24"),  # 1.235: the half goes up
        ("2250", "0.23"),  # 0.225: up, where banker's rounding would give 0.22
        ("49.99", "0.00"),
        ("50", "0.01"),  # 0.005
        ("-5000", "-0.50"),
        ("-50", "-0.01"),  # away from zero
        (None, "0.00"),
        (8000.0, "0.80"),
    ],
)
def test_yuan_become_wan_yuan_with_two_decimals_halves_up(yuan, wan):
    assert wan_yuan(yuan) == Decimal(wan)
    assert str(wan_yuan(yuan)) == wan


def test_rates_are_percentages_with_two_decimals():
    assert fmt_pct(0.75) == "75.00%"
    assert fmt_pct(2 / 3) == "66.67%"
    assert fmt_pct(0.0047619) == "0.48%"
    assert fmt_pct(1) == "100.00%"
    assert fmt_pct(None) == "—"
    assert fmt_pct(float("nan")) == "—"


def test_programmes_are_in_the_order_of_the_standards_table():
    assert [p.code for p in read_programs()] == STANDARDS_TABLE_ORDER
    # a code the seed does not know comes last, so that no money is left out
    assert in_seed_order(["A", "B"], ["B", "ZZ", None, "C"]) == ["A", "B", "C", "ZZ"]


def test_every_query_says_what_it_counts_and_reads_only_the_marts():
    for name, query in QUERIES.items():
        assert len(query.doc) > 40, name
        assert "marts." in query.sql, name


# --- the page, on hand-made marts -----------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("term_report")
    db = make_analytics_db(root / "analytics.duckdb")
    pages = write_term_reports(db, root / "term_report", pdf=False, generated_at=GENERATED_AT)
    return root / "term_report", pages


def test_one_page_per_term_of_the_marts_and_an_index(written):
    folder, pages = written
    assert [p.name for p in pages] == ["2021-spring.html", "2021-autumn.html", "index.html"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in pages)
    index = (folder / "index.html").read_text("utf-8")
    assert index.index("2021-autumn.html") < index.index("2021-spring.html")  # newest first
    page = (folder / "2021-autumn.html").read_text("utf-8")
    assert page.startswith('<!doctype html>\n<html lang="zh-CN">')
    assert "示范县2021年秋季学期学生资助工作统计报告" in page
    assert "@media print" in page
    # nothing to fetch: no script, image, stylesheet or link to anywhere
    for fetching in ("<script", "src=", 'href="http', "url(http", "@import", "<link"):
        assert fetching not in page, fetching
    assert "<metadata>" not in page
    assert page.count('class="chart"') == 3


def test_funds_per_programme_net_of_refunds(written):
    f = figures_of(written[0] / "2021-autumn.html")
    want = {  # (万元, 人次, 人)
        "PRE_AID": ("0.23", "5", "5"),  # 4 × 500 + 250 = 2,250 yuan
        "BOARD": ("0.11", "2", "2"),  # 625 + 500 + 500 − 500 = 1,125; 3 lines − 1 refund
        "NONBOARD": ("0.00", "0", "0"),  # 250 refunded in full: no one
        "HS_GRANT": ("0.20", "2", "2"),
        "HS_FEE": ("0.00", "0", "0"),
        "VOC_GRANT": ("0.00", "0", "0"),
        "VOC_FEE": ("0.10", "1", "1"),
        "YULU": ("0.00", "0", "0"),
        "ENTRY": ("0.00", "0", "0"),
        "LOAN": ("1.20", "1", "1"),
        # 2,250 + 1,125 + 2,000 + 1,000 + 12,000 = 18,375; p1..p11 less p3 (p1 twice)
        "total": ("1.84", "11", "10"),
    }
    for code, (wan, times, persons) in want.items():
        assert f[f"funds_by_program:{code}:net_wan_yuan"] == wan, code
        assert f[f"funds_by_program:{code}:person_times"] == times, code
        assert f[f"funds_by_program:{code}:persons"] == persons, code
    page = (written[0] / "2021-autumn.html").read_text("utf-8")
    rows = [page.index(f"<td>{code}</td>") for code in STANDARDS_TABLE_ORDER]
    assert rows == sorted(rows)
    assert "1. 发放学前教育幼儿资助 0.23 万元，受助幼儿 5 人（5 人次）" in page
    assert "办理生源地信用助学贷款 1.20 万元" in page

    spring = figures_of(written[0] / "2021-spring.html")
    assert spring["funds_by_program:total:net_wan_yuan"] == "0.06"  # 625 yuan
    assert spring["funds_by_program:BOARD:persons"] == "1"


def test_coverage_by_township_and_stage(written):
    f = figures_of(written[0] / "2021-autumn.html")
    want = {
        "城关镇/primary": ("4", "3", "75.00%"),
        "城关镇/senior": ("2", "2", "100.00%"),
        "城关镇/all": ("6", "5", "83.33%"),
        "中峰镇/junior": ("4", "1", "25.00%"),
        "中峰镇/all": ("4", "1", "25.00%"),
        "total": ("10", "6", "60.00%"),
    }
    for key, (entitled, covered, rate) in want.items():
        assert f[f"coverage:{key}:entitled"] == entitled, key
        assert f[f"coverage:{key}:fully_covered"] == covered, key
        assert f[f"coverage:{key}:coverage_rate"] == rate, key
    assert not [k for k in f if k.startswith("coverage:") and k.split(":")[1] not in want]


def test_dropout_and_consolidation_up_to_the_terms_school_year_in_the_named_variant(written):
    f = figures_of(written[0] / "2021-autumn.html")
    assert f["dropout_rates:variant"] == "default"
    assert f["dropout_rates:consolidation_rate_variant"] == "annual"
    want = {
        "2020-2021/primary": ("200", "2", "1.00%", "99.00%"),
        "2020-2021/junior": ("100", "3", "3.00%", "97.00%"),
        "2020-2021/all": ("300", "5", "1.67%", "—"),
        "2021-2022/primary": ("210", "1", "0.48%", "99.52%"),
        "2021-2022/junior": ("105", "0", "0.00%", "100.00%"),
        "2021-2022/all": ("315", "1", "0.32%", "—"),  # not lianji's 320
    }
    for key, (enrolled, dropouts, rate, consolidation) in want.items():
        assert f[f"dropout_rates:{key}:enrolled"] == enrolled, key
        assert f[f"dropout_rates:{key}:dropouts"] == dropouts, key
        assert f[f"dropout_rates:{key}:dropout_rate"] == rate, key
        assert f[f"dropout_rates:{key}:consolidation_rate"] == consolidation, key
    assert not any(k.startswith("dropout_rates:2022-2023") for k in f)
    assert f["hardship_dropout_rates:hardship:dropout_rate"] == "1.67%"
    assert f["hardship_dropout_rates:hardship:enrolled"] == "60"
    assert f["hardship_dropout_rates:other:dropout_rate"] == "0.00%"

    spring = figures_of(written[0] / "2021-spring.html")
    assert not any(k.startswith("dropout_rates:2021-2022") for k in spring)
    assert "hardship_dropout_rates:hardship:enrolled" not in spring  # none for 2020-2021


def test_out_of_school_children_by_township(written):
    f = figures_of(written[0] / "2021-autumn.html")
    assert f["out_of_school:城关镇:children"] == "2"
    assert f["out_of_school:城关镇:hardship_children"] == "1"
    assert f["out_of_school:中峰镇:children"] == "1"
    assert f["out_of_school:中峰镇:hardship_children"] == "0"
    assert f["out_of_school:total:children"] == "3"
    assert f["out_of_school:total:hardship_children"] == "1"


def test_findings_by_type_new_or_already_reported_the_term_before(written):
    f = figures_of(written[0] / "2021-autumn.html")
    want = {  # (leads, new, carried over, 万元)
        "PAID_AFTER_DEATH": ("1", "1", "0", "0.06"),
        "DUPLICATE_PAYMENT": ("1", "0", "1", "0.05"),
        "PAID_NOT_ENROLLED": ("0", "0", "0", "0.00"),
        "INELIGIBLE_RECIPIENT": ("1", "1", "0", "0.03"),  # 250: 0.025 up
        "STAGE_MISMATCH": ("0", "0", "0", "0.00"),
        "MISSED_ELIGIBLE": ("2", "1", "1", "0.13"),  # 1,250: 0.125 up
        "OUT_OF_SCHOOL_CHILD": ("3", "2", "1", "0.00"),
        "AMOUNT_MISMATCH": ("0", "0", "0", "0.00"),
        "DUPLICATE_ENROLLMENT": ("0", "0", "0", "0.00"),
        "IDENTITY_CONFLICT": ("0", "0", "0", "0.00"),
        "total": ("8", "5", "3", "0.26"),  # 2,625
    }
    for code, (n, new, carried, wan) in want.items():
        assert f[f"findings:{code}:findings"] == n, code
        assert f[f"findings:{code}:new"] == new, code
        assert f[f"findings:{code}:carried_over"] == carried, code
        assert f[f"findings:{code}:amount_wan_yuan"] == wan, code
    page = (written[0] / "2021-autumn.html").read_text("utf-8")
    names = [
        "死亡后仍发放", "重复发放", "非在读学生获得资助", "不符合资助条件",
        "资助项目与学段不符", "应助未助", "适龄儿童失学辍学", "发放金额与标准不符",
        "重复学籍", "身份信息冲突",
    ]  # fmt: skip
    table = page[page.index("<th>问题类型</th>") :]
    positions = [table.index(f"<td>{name}</td>") for name in names]
    assert positions == sorted(positions)  # the order of seeds/finding_types.csv

    spring = figures_of(written[0] / "2021-spring.html")  # no term before it in the marts
    assert spring["findings:total:findings"] == "4"
    assert spring["findings:total:carried_over"] == "0"


def test_the_summary_paragraph_says_the_headline_figures(written):
    page = (written[0] / "2021-autumn.html").read_text("utf-8")
    assert "示范县共落实各学段学生资助资金" in page
    f = figures_of(written[0] / "2021-autumn.html")
    assert f["funds_by_program:total:persons"] == "10"
    assert "资助覆盖率 60.00%" in page
    assert "问题线索 8 条（其中本学期新增 5 条、上学期已报仍存在 3 条）" in page
    assert "适龄儿童失学辍学 3 人（其中家庭经济困难 1 人）" in page


def test_a_rerun_replaces_the_pages_and_leaves_no_temporary_file(tmp_path):
    db = make_analytics_db(tmp_path / "analytics.duckdb")
    folder = tmp_path / "out"
    write_term_reports(db, folder, pdf=False, generated_at=GENERATED_AT)
    assert figures_of(folder / "2021-autumn.html")["funds_by_program:total:net_wan_yuan"] == "1.84"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update marts.rpt_aid_funds_by_program set net_paid_yuan = 6375 "
            "where term_code = '2021-autumn' and program_code is null"
        )  # the LOAN line gone: 18,375 − 12,000 yuan
    write_term_reports(db, folder, pdf=False, generated_at=GENERATED_AT)
    assert figures_of(folder / "2021-autumn.html")["funds_by_program:total:net_wan_yuan"] == "0.64"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_without_chromium_no_pdf_and_one_log_line(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(term_report, "find_chromium", lambda: None)
    db = make_analytics_db(tmp_path / "analytics.duckdb")
    with caplog.at_level("INFO", logger=term_report.__name__):
        write_term_reports(db, tmp_path / "out", generated_at=GENERATED_AT)
    assert not list((tmp_path / "out").glob("*.pdf"))
    assert [r.getMessage() for r in caplog.records if "PDF" in r.getMessage()] == [
        "term report: no PDF converter available (Chromium not on PATH); HTML only"
    ]


def test_a_database_without_the_marts_gets_a_warning_and_no_report(tmp_path, caplog):
    db = make_analytics_db(tmp_path / "analytics.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("drop table marts.rpt_aid_coverage")
    with caplog.at_level("WARNING", logger=term_report.__name__):
        assert write_term_reports(db, tmp_path / "out", pdf=False) == []
    assert "lacks marts.rpt_aid_coverage" in caplog.text
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
