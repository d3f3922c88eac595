"""Read the term report's figures back from the HTML people read, and a tiny hand-made
analytics.duckdb (marts with only the columns the report reads) for fast tests."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import duckdb


class _Figures(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: dict[str, list[str]] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        self._open.append(dict(attrs).get("data-figure"))
        if self._open[-1] is not None:
            self.figures.setdefault(self._open[-1], []).append("")

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        figure = next((f for f in reversed(self._open) if f is not None), None)
        if figure is not None:
            self.figures[figure][-1] += data


def figures_of(page: Path) -> dict[str, str]:
    """data-figure -> the text shown; a figure shown twice must show the same text."""
    parser = _Figures()
    parser.feed(page.read_text(encoding="utf-8"))
    result = {}
    for name, texts in parser.figures.items():
        assert len(set(texts)) == 1, (name, texts)
        result[name] = texts[0].strip()
    return result


def number(text: str) -> str:
    """'1,234.50' -> '1234.50' (what the page shows, without thousands separators)."""
    return text.replace(",", "")


TABLES = {
    "dim_term": "term_code varchar, semester varchar, school_year varchar, term_idx integer",
    "dim_area": "county varchar, township varchar",
    "rpt_aid_coverage": "term_code varchar, township varchar, school_code varchar, "
    "stage varchar, hardship_category varchar, entitled_students bigint, "
    "fully_covered bigint, coverage_rate double",
    "rpt_dropout_rates": "school_year varchar, stage varchar, variant varchar, "
    "consolidation_rate_variant varchar, enrolled bigint, dropouts bigint, "
    "dropout_rate double, consolidation_rate double, is_default_variant boolean, "
    "is_partial_year boolean",
    "rpt_dropout_rates_by_group": "school_year varchar, variant varchar, breakdown varchar, "
    "stage varchar, is_hardship boolean, enrolled bigint, dropouts bigint, "
    "dropout_rate double, is_default_variant boolean",
    "fct_out_of_school_child": "person_key varchar, term_code varchar, township varchar, "
    "is_hardship boolean",
    "rpt_aid_funds_by_program": "term_code varchar, program_code varchar, "
    "net_paid_yuan decimal(18, 2), person_times bigint, persons bigint",
    "fct_audit_finding": "finding_type varchar, term_code varchar, person_key varchar, "
    "amount_yuan decimal(12, 2), is_carried_over boolean",
}
SP, AU = "2021-spring", "2021-autumn"
ROWS = {
    "dim_term": [
        (SP, "spring", "2020-2021", 4042),
        (AU, "autumn", "2021-2022", 4043),
        ("unknown", None, None, None),
    ],
    "dim_area": [("示范县", "城关镇"), (None, "未知乡镇")],
    # as the mart publishes them for these payment lines: BOARD p1 625 (spring and autumn),
    # p2 500 twice and refunded once; NONBOARD p3 250 refunded in full; HS_GRANT p4, p5
    # 1,000 each; VOC_FEE p1 1,000; LOAN p6 12,000; PRE_AID p7–p10 500 each, p11 250; and
    # BOARD p12 625 in no term (the rule itself: dbt's unit test
    # test_rpt_aid_funds_by_program_nets_refunds, on the same lines)
    "rpt_aid_funds_by_program": [
        (SP, "BOARD", "625.00", 1, 1),
        (SP, None, "625.00", 1, 1),
        (AU, "BOARD", "1125.00", 2, 2),
        (AU, "NONBOARD", "0.00", 0, 0),
        (AU, "HS_GRANT", "2000.00", 2, 2),
        (AU, "VOC_FEE", "1000.00", 1, 1),
        (AU, "LOAN", "12000.00", 1, 1),
        (AU, "PRE_AID", "2250.00", 5, 5),
        (AU, None, "18375.00", 11, 10),  # p1 is paid in two programmes, p3 net nothing
        ("unknown", "BOARD", "625.00", 1, 1),
        ("unknown", None, "625.00", 1, 1),
    ],
    "rpt_aid_coverage": [
        (AU, "城关镇", "s1", "primary", "建档立卡", 3, 2, 2 / 3),
        (AU, "城关镇", "s1", "primary", "残疾", 1, 1, 1.0),
        (AU, "城关镇", "s2", "senior", "脱贫户", 2, 2, 1.0),
        (AU, "中峰镇", "s3", "junior", "监测户", 4, 1, 0.25),
        (SP, "城关镇", "s1", "primary", "建档立卡", 2, 2, 1.0),
    ],
    "rpt_dropout_rates": [
        ("2020-2021", "primary", "default", "annual", 200, 2, 0.01, 0.99, True, False),
        ("2020-2021", "junior", "default", "annual", 100, 3, 0.03, 0.97, True, False),
        ("2020-2021", "all", "default", "annual", 300, 5, 0.01666667, None, True, False),
        ("2021-2022", "primary", "default", "annual", 210, 1, 0.0047619, 0.9952381, True, True),
        ("2021-2022", "junior", "default", "annual", 105, 0, 0.0, 1.0, True, True),
        ("2021-2022", "all", "default", "annual", 315, 1, 0.0031746, None, True, True),
        ("2021-2022", "all", "lianji", "annual", 320, 1, 0.003125, None, False, True),
        ("2022-2023", "all", "default", "annual", 330, 9, 0.02727273, None, True, True),
    ],
    "rpt_dropout_rates_by_group": [
        ("2021-2022", "default", "hardship", "all", True, 60, 1, 0.01666667, True),
        ("2021-2022", "default", "hardship", "all", False, 255, 0, 0.0, True),
        ("2021-2022", "lianji", "hardship", "all", True, 61, 1, 0.01639344, False),
        ("2021-2022", "default", "hardship", "primary", True, 30, 1, 0.03333333, True),
    ],
    "fct_out_of_school_child": [
        ("p20", SP, "城关镇", True),
        ("p20", AU, "城关镇", True),
        ("p21", AU, "城关镇", False),
        ("p22", AU, "中峰镇", False),
    ],
    "fct_audit_finding": [  # is_carried_over: the same type and person in the term before
        ("MISSED_ELIGIBLE", SP, "p30", "625.00", False),
        ("MISSED_ELIGIBLE", SP, "p31", "625.00", False),
        ("OUT_OF_SCHOOL_CHILD", SP, "p20", None, False),
        ("DUPLICATE_PAYMENT", SP, "p2", "500.00", False),
        ("MISSED_ELIGIBLE", AU, "p30", "625.00", True),
        ("MISSED_ELIGIBLE", AU, "p32", "625.00", False),
        ("OUT_OF_SCHOOL_CHILD", AU, "p20", None, True),
        ("OUT_OF_SCHOOL_CHILD", AU, "p21", None, False),
        ("OUT_OF_SCHOOL_CHILD", AU, "p22", None, False),
        ("DUPLICATE_PAYMENT", AU, "p2", "500.00", True),
        ("PAID_AFTER_DEATH", AU, "p40", "625.00", False),
        ("INELIGIBLE_RECIPIENT", AU, "p31", "250.00", False),  # p31 again, another type
    ],
}


def make_analytics_db(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for table, columns in TABLES.items():
            con.execute(f"create table marts.{table} ({columns})")
            for row in ROWS[table]:
                marks = ", ".join("?" * len(row))
                con.execute(f"insert into marts.{table} values ({marks})", list(row))
    return path
