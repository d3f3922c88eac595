# ruff: noqa: E501  (sample rows are kept one line each, as in the export)
"""Raw tables shaped like the contract's sample exports, as the ingest loads them.

The shape follows docs/architecture.md ("Raw layer"): schema ``raw``, every
canonical column of a source (from seeds/header_aliases.csv) as VARCHAR with
the cell text as a person sees it, ``extra_columns`` as JSON text, and the
lineage columns. Rows mirror tests/fixtures/samples (title, totals and blank
rows already dropped by the ingest), plus a superseded delivery of the
households' 2020-09 snapshot that staging must drop.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("households", "students", "schools", "disbursements", "population", "dropout_ledger")
LINEAGE = {
    "_source": "varchar",
    "_file_name": "varchar",
    "_file_sha256": "varchar",
    "_sheet_name": "varchar",
    "_row_number": "integer",
    "_snapshot_month": "date",
    "_delivered_at": "timestamp",
    "_loaded_at": "timestamp",
}


def canonical_columns() -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {source: [] for source in SOURCES}
    with (REPO / "seeds" / "source_columns.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            columns[row["source"]].append(row["column_name"])
    return columns


def _file(name, sha, snapshot, delivered, sheet=None, first_row=2):
    return {
        "name": name,
        "sha": sha,
        "snapshot": snapshot,
        "delivered": delivered,
        "sheet": sheet,
        "first_row": first_row,
    }


HOUSEHOLD_HEADER = [
    "county", "township", "village", "household_id", "name", "id_number", "relation", "sex",
    "in_school_status", "health", "household_attribute", "poverty_status", "identified_year",
    "exit_year", "monitoring_type",
]  # fmt: skip
HOUSEHOLD_ROWS = [
    ["示范县", "城关镇", "向阳村", "4203990010010001", "王建国", "420399197803120312", "户主", "男", "非在校生", "健康", "一般贫困户", "未脱贫", "2014", None, None],
    ["示范县", "城关镇", "向阳村", "4203990010010001", "李 秀英", "420399800615242", "配偶", "女", "非在校生", "长期慢性病", "一般贫困户", "未脱贫", "2014", None, None],
    ["示范县", "城关镇", "向阳村", "4203990010010001", "王小明", "'420399200901050121", "之子", "男", "小学", "健康", "一般贫困户", "未脱贫", "2014", None, None],
    ["示范县", "城关镇", "向阳村", "4203990010010001", "王小红", "４２０３９９２０１３０８２００２４２", "之女", "女", "小学", "健康", "一般贫困户", "未脱贫", "2014", None, None],
    ["示范县", "城关镇人民政府", "柳林村", "4203990010020007", "陈志强", "420399200509170356", "之孙子", "男", "普通高中", "健康", "低保贫困户", "已脱贫", "2015", "2019", None],
    ["示范县", "城关镇", "柳林村", "4203990010020007", "陈志刚", "420399200603020418", "之孙子", "男", "中职", "残疾", "低保贫困户", "已脱贫", "2015", "2019", None],
    ["示范县", "城关镇", "柳林村", "4203990010030002", "赵 磊", "420399200111110839", "之子", "男", "本科及以上", "健康", "特困供养贫困户", "未脱贫", "2016", None, None],
]  # fmt: skip
# An earlier delivery of the same month: superseded, must not reach staging.
HOUSEHOLD_SUPERSEDED_ROWS = [
    ["示范县", "城关镇", "向阳村", "4203990010010001", "旧版本", "420399197803120312", "户主", "男", "非在校生", "健康", "一般贫困户", "未脱贫", "2014", None, None],
]  # fmt: skip

STUDENT_HEADER = [
    "school_code", "school_name", "student_number", "name", "sex", "birth_date", "id_number",
    "grade", "class", "enrolled_on", "boarding", "status", "hukou_township", "is_disabled",
    "is_left_behind",
]  # fmt: skip
STUDENT_ROWS = [
    ["2142039901", "示范县城关镇中心小学", "G420399200901050121", "王小明", "男", "2009/1/5", "420399200901050121", "六年级", "2", "2015.9", "住校", "在读", "城关镇", "否", "是"],
    ["2142039901", "示范县城关镇中心小学", "G420399201308200242", "王小红", "女", "2013-08-20", "420399201308200242", "二年级", "1", "2019-09", "走读", "在校", "城关镇", "否", "是"],
    ["3142039903", "示范县第一高级中学", "G420399200509170356", "陈志强", "男", "20050917", "420399200509170356", "高中一年级", "5", "2020年9月", "住校", "在读", "城关镇", "否", "否"],
    ["3142039904", "示范县职业技术教育中心", "G420399200603020418", "陈志刚", "男", "2006.03.02", "420399200603020418", "中职一年级", "3", "2020.9", "住校", "在读", "城关镇", "是", "否"],
    ["2142039901", "示范县城关镇中心小学", "G420399201106110580", "周 婷", "女", "2011年6月11日", "420399201106110580", "四年级", "1", "2017.9", "走读", "正常", "中峰镇", "否", "否"],
    ["2142039902", "示范县第二初级中学", "G420399201001010663", "吴浩", "男", "2010-01-01", "420399201001010663", "初一", "4", "2020.9", "住校", "在读", "中峰镇", "否", "否"],
    ["2142039901", "示范县城关镇中心小学", "L420399201401010417", "孙 一", "男", "2014-01-01", None, "一年级", "3", "2020.9", "走读", "在读", "城关镇", "否", "否"],
]  # fmt: skip

SCHOOL_HEADER = [
    "school_code", "school_name", "school_type", "ownership", "township", "division_code",
    "urban_rural", "has_boarding", "status",
]  # fmt: skip
SCHOOL_ROWS = [
    ["2142039901", "示范县城关镇中心小学", "小学", "公办", "城关镇", "420399100000", "111", "是", "正常"],
    ["2142039902", "示范县第二初级中学", "初级中学", "公办", "城关镇", "420399100000", "111", "是", "正常"],
    ["3142039903", "示范县第一高级中学", "高级中学", "公办", "城关镇", "420399100000", "111", "是", "正常"],
    ["3142039904", "示范县职业技术教育中心", "中等职业学校", "公办", "中峰镇", "420399104000", "220", "是", "正常"],
    ["2142039905", "示范县中峰镇麻家渡小学", "小学", "公办", "中峰镇", "420399104000", "220", "否", "撤并"],
]  # fmt: skip

DISBURSEMENT_HEADER = [
    "school_year", "semester", "program", "school_code", "school_name", "name", "id_number",
    "student_number", "grade", "hardship_type", "amount", "paid_on", "method", "batch_id",
]  # fmt: skip
DISBURSEMENT_ROWS = [
    ["2020-2021", "秋季学期", "寄宿生生活补助", "2142039901", "示范县城关镇中心小学", "王小明", "420399200901050121", "G420399200901050121", "六年级", "建档立卡", "500.00", "2020/10/28", "一卡通", "2020Q4-01"],
    ["2020-2021", "秋季学期", "非寄宿生生活补助", "2142039901", "示范县城关镇中心小学", "王小红", "420399201308200242", None, "二年级", "建档立卡", "250", "2020年10月28日", "一卡通", "2020Q4-01"],
    ["2020-2021", "秋季学期", "普高国家助学金", "3142039903", "示范县第一高级中学", "陈志强", "420399200509170356", "G420399200509170356", "高一", "建档立卡", "1,000.00", "44136", "银行卡", "2020Q4-01"],
    ["2020-2021", "秋季学期", "普高免学费", "3142039903", "示范县第一高级中学", "陈志强", "420399200509170356", "G420399200509170356", "高一", "建档立卡", "￥800", "2020-09-15", "冲抵学费", "2020Q4-01"],
    ["2020-2021", "秋季学期", "中职助学金", "3142039904", "示范县职业技术教育中心", "陈志刚", "420399200603020418", None, "中职一年级", "建档立卡", "1000元", "2020.11.02", "银行卡", "2020Q4-01"],
    ["2020-2021", "秋季学期", "中职助学金", "3142039904", "示范县职业技术教育中心", "陈志刚", "420399200603020418", None, "中职一年级", "建档立卡", "1000元", "2020.11.02", "银行卡", "2020Q4-01"],
    ["2020-2021", "秋季学期", "非寄宿生生活补助", "2142039901", "示范县城关镇中心小学", "周婷", "420399201106110581", None, "四年级", "一般困难", "250", "20201028", "一卡通", "2020Q4-01"],
    ["2020-2021", "秋季学期", "寄宿生生活补助", "2142039902", "示范县第二初级中学", "吴浩", "420399201001010663", None, "七年级", "低保", "625", "2021-01-10", "一卡通", "2020Q4-02"],
    ["2020-2021", "第一学期", "雨露计划", "3142039904", "示范县职业技术教育中心", "陈志刚", "420399200603020418", None, "中职一年级", "脱贫户", "1500", "2020-12-01", "银行卡", "YL2020-2"],
    ["2020-2021", "秋季学期", "生源地信用助学贷款", None, "武汉某大学", "赵磊", "420399200111110839", None, "大二", "建档立卡", "8000", "2020-10-10", "银行卡", "DK2020"],
    ["2020-2021", "秋季学期", "中职助学金", "3142039904", "示范县职业技术教育中心", "陈志刚", "420399200603020418", None, "中职一年级", "建档立卡", "-1000", "2020-12-20", "银行卡", "2020Q4-03"],
]  # fmt: skip

POPULATION_HEADER = [
    "id_number", "name", "sex", "birth_date", "township", "village", "status", "died_on",
]  # fmt: skip
POPULATION_ROWS = [
    ["420399200901050121", "王小明", "男", "2009-01-05", "城关镇", "向阳村", "正常", None],
    ["420399201308200242", "王小红", "女", "2013-08-20", "城关镇", "向阳村", "正常", None],
    ["420399201106110580", "周婷", "女", "2011-06-11", "中峰镇", "麻家渡村", "正常", None],
    ["420399201001010663", "吴浩", "男", "2010-01-01", "中峰镇", "麻家渡村", "死亡", "2020-12-03"],
    ["420399201204040715", "郑　丽", "女", "2012-04-04", "中峰镇", "麻家渡村", "正常", None],
]  # fmt: skip

LEDGER_HEADER = [
    "id_number", "name", "township", "case_type", "disposition", "school_code", "recorded_on",
    "closed_on",
]  # fmt: skip
LEDGER_ROWS = [
    ["420399201204040715", "郑丽", "中峰镇", "疑似辍学", "未返校", None, "2020-10-12", None],
]  # fmt: skip

SAMPLES = {
    "households": [
        (_file("建档立卡贫困人口_202009.xlsx", "h" * 64, date(2020, 9, 1), datetime(2020, 9, 28, 10), sheet="城关镇", first_row=5), HOUSEHOLD_HEADER, HOUSEHOLD_ROWS),
        (_file("建档立卡贫困人口_202009_旧.xlsx", "o" * 64, date(2020, 9, 1), datetime(2020, 9, 20, 10), sheet="城关镇", first_row=5), HOUSEHOLD_HEADER, HOUSEHOLD_SUPERSEDED_ROWS),
    ],
    "students": [
        (_file("学籍信息_202009.csv", "s" * 64, date(2020, 9, 1), datetime(2020, 9, 30, 17), first_row=3), STUDENT_HEADER, STUDENT_ROWS),
    ],
    "schools": [
        (_file("学校名录_202009.csv", "c" * 64, date(2020, 9, 1), datetime(2020, 9, 30, 9)), SCHOOL_HEADER, SCHOOL_ROWS),
    ],
    "disbursements": [
        (_file("示范县2020年秋季学期学生资助发放明细.csv", "d" * 64, None, datetime(2021, 1, 15, 9), first_row=4), DISBURSEMENT_HEADER, DISBURSEMENT_ROWS),
    ],
    "population": [
        (_file("适龄人口_2020-09.csv", "p" * 64, date(2020, 9, 1), datetime(2020, 9, 30, 9)), POPULATION_HEADER, POPULATION_ROWS),
    ],
    "dropout_ledger": [
        (_file("控辍保学台账_202011.xlsx", "l" * 64, date(2020, 11, 1), datetime(2020, 11, 30, 9), sheet="台账"), LEDGER_HEADER, LEDGER_ROWS),
    ],
}  # fmt: skip


def create_raw_tables(database: Path) -> None:
    """Create schema raw with the six source tables, the manifest and quarantine."""
    columns = canonical_columns()
    loaded_at = datetime(2021, 2, 1, 8)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists raw")
        for source in SOURCES:
            definition = [f'"{column}" varchar' for column in columns[source]]
            definition.append("extra_columns varchar")
            definition += [f"{name} {kind}" for name, kind in LINEAGE.items()]
            con.execute(f"create or replace table raw.{source} ({', '.join(definition)})")
            for file, header, rows in SAMPLES.get(source, []):
                for offset, values in enumerate(rows):
                    cells = dict(zip(header, values, strict=True))
                    record = [cells.get(column) for column in columns[source]]
                    record.append(json.dumps({}, ensure_ascii=False))
                    record += [
                        source,
                        file["name"],
                        file["sha"],
                        file["sheet"],
                        file["first_row"] + offset,
                        file["snapshot"],
                        file["delivered"],
                        loaded_at,
                    ]
                    placeholders = ", ".join("?" for _ in record)
                    con.execute(f"insert into raw.{source} values ({placeholders})", record)
        con.execute(
            """
            create or replace table raw.load_manifest (
                file_sha256 varchar, source varchar, file_name varchar, snapshot_month date,
                delivered_at timestamp, loaded_at timestamp, file_format varchar,
                encoding varchar, sheets varchar, rows_read integer, rows_loaded integer,
                rows_quarantined integer, stated_total decimal(14, 2),
                loaded_total decimal(14, 2), is_total_reconciled boolean, status varchar,
                error varchar
            )
            """
        )
        con.execute(
            "create or replace table raw.file_sightings "
            "(file_name varchar, file_sha256 varchar, source varchar, seen_at timestamp)"
        )
        con.execute(
            """
            create or replace table raw.quarantine (
                source varchar, file_name varchar, file_sha256 varchar, sheet_name varchar,
                row_number integer, reason varchar, raw_text varchar
            )
            """
        )
