"""Staging models on raw tables shaped like the contract's samples.

Builds a throwaway DuckDB with schema ``raw`` (see raw_samples.py), builds the
seeds with their key tests, then ``dbt build --select staging+`` (models, generic
tests and the unit tests of every cleaning macro) through dbtRunner, and checks
the cleaned values the samples' README promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dbt_helpers import build_db, failures, run_dbt
from raw_samples import create_raw_tables


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list]]:
    work = tmp_path_factory.mktemp("dbt_staging")
    database = work / "build.duckdb"
    create_raw_tables(database)
    with build_db(database):
        # Seeds and their key tests (duplicated lookup keys would duplicate rows).
        seeded = run_dbt(
            ["build", "--select", "resource_type:seed", "--indirect-selection", "cautious"], work
        )
        assert seeded.success, seeded.exception
        built = run_dbt(["build", "--select", "staging+"], work)
        # Strict on the staging layer (models, their generic and unit tests);
        # models downstream of staging are other tests' business.
        results = [
            r for r in built.result if r.node.original_file_path.startswith("models/staging/")
        ]
        bad = failures(built, "models/staging/")
        assert results and not bad, "\n".join(bad)
        yield database, results


@pytest.fixture(scope="module")
def con(build) -> Iterator[duckdb.DuckDBPyConnection]:
    database, _ = build
    # dbt-duckdb keeps the database open in this process: connect with the same
    # (default) configuration.
    with duckdb.connect(str(database)) as connection:
        yield connection


def rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_name(con, model: str) -> dict[str, dict]:
    return {r["person_name"]: r for r in rows(con, f"select * from staging.{model}")}


def test_unit_tests_ran_and_passed(build):
    _, results = build
    unit = [r for r in results if r.node.resource_type == "unit_test"]
    models = {r.node.name for r in results if r.node.resource_type == "model"}
    assert len(unit) >= 7
    assert all(str(r.status) == "pass" for r in unit)
    assert models >= {
        "stg_households__members",
        "stg_students__enrollments",
        "stg_schools__schools",
        "stg_disbursements__payment_lines",
        "stg_population__residents",
        "stg_dropout_ledger__cases",
    }


def test_households_ids_names_and_newest_delivery(con):
    members = by_name(con, "stg_households__members")
    assert len(members) == 7
    # The superseded delivery of the same month is gone.
    assert "旧版本" not in members
    assert {m["source_file"] for m in members.values()} == {"建档立卡贫困人口_202009.xlsx"}
    # The old 15-digit ID, upgraded with its GB 11643 check character. The samples'
    # README writes ...2426, but ISO 7064 MOD 11-2 over 42039919800615242 gives 0
    # (weighted sum 353, 353 mod 11 = 1 -> '0'); the standard wins.
    li = members["李秀英"]
    assert li["id_number_raw"] == "420399800615242"
    assert li["id_number"] == "420399198006152420"
    assert li["is_id_valid"] and li["birth_on_from_id"] == date(1980, 6, 15)
    assert li["sex_from_id"] == "女"
    # Leading apostrophe and full-width digits.
    assert members["王小明"]["id_number"] == "420399200901050121"
    assert members["王小红"]["id_number"] == "420399201308200242"
    assert members["王小明"]["is_id_valid"] and members["王小红"]["is_id_valid"]
    assert "赵磊" in members
    assert members["陈志强"]["township"] == "城关镇"  # 城关镇人民政府 in the raw cell
    assert members["陈志强"]["poverty_status_code"] == "exited"
    assert members["陈志强"]["exit_year"] == 2019
    assert members["陈志刚"]["is_disabled"]
    assert members["赵磊"]["in_school_stage"] == "tertiary"
    assert {m["term_code"] for m in members.values()} == {"2020-autumn"}
    assert {m["source_sheet"] for m in members.values()} == {"城关镇"}
    assert sorted(m["source_row"] for m in members.values()) == list(range(5, 12))


def test_students_dates_grades_statuses(con):
    students = by_name(con, "stg_students__enrollments")
    assert len(students) == 7
    assert {n: s["birth_on"] for n, s in students.items()} == {
        "王小明": date(2009, 1, 5),
        "王小红": date(2013, 8, 20),
        "陈志强": date(2005, 9, 17),
        "陈志刚": date(2006, 3, 2),
        "周婷": date(2011, 6, 11),
        "吴浩": date(2010, 1, 1),
        "孙一": date(2014, 1, 1),
    }
    assert all(s["is_birth_on_parsed"] for s in students.values())
    assert students["陈志强"]["enrolled_month_on"] == date(2020, 9, 1)
    assert students["王小明"]["enrolled_month_on"] == date(2015, 9, 1)
    assert students["陈志强"]["stage"] == "senior" and students["陈志强"]["grade_number"] == 1
    assert students["陈志刚"]["stage"] == "vocational"
    assert students["吴浩"]["stage"] == "junior" and students["吴浩"]["grade_label"] == "七年级"
    assert {s["enrollment_status"] for s in students.values()} == {"enrolled"}
    assert students["王小明"]["is_boarding"] and not students["王小红"]["is_boarding"]
    assert students["陈志刚"]["is_disabled"]
    sun = students["孙一"]
    assert sun["id_number"] is None and not sun["is_id_valid"]
    assert sun["student_number_kind"] == "L"
    stages = {s["stage"] for s in students.values()}
    assert stages <= {"preschool", "primary", "junior", "senior", "vocational", "tertiary"}


def test_payment_lines_money_terms_and_duplicates(con):
    lines = rows(con, "select * from staging.stg_disbursements__payment_lines order by source_row")
    # Every line is kept, the duplicated VOC_GRANT line included.
    assert len(lines) == 11
    assert sum(line["amount_yuan"] for line in lines) == Decimal("13925.00")
    assert {line["term_code"] for line in lines} == {"2020-autumn"}
    assert all(line["is_paid_on_parsed"] and line["is_amount_parsed"] for line in lines)
    chen = [line for line in lines if line["person_name"] == "陈志强"]
    assert {(c["program_code"], c["amount_yuan"]) for c in chen} == {
        ("HS_GRANT", Decimal("1000.00")),  # "1,000.00"
        ("HS_FEE", Decimal("800.00")),  # "￥800"
    }
    assert next(c for c in chen if c["program_code"] == "HS_GRANT")["paid_on"] == date(2020, 11, 1)
    voc = [line for line in lines if line["program_code"] == "VOC_GRANT"]
    assert sorted(v["amount_yuan"] for v in voc) == [
        Decimal("-1000.00"),
        Decimal("1000.00"),
        Decimal("1000.00"),
    ]
    assert [v["is_refund"] for v in voc if v["amount_yuan"] < 0] == [True]
    yulu = next(line for line in lines if line["program_code"] == "YULU")
    assert yulu["semester"] == "第一学期" and yulu["term_code"] == "2020-autumn"
    zhou = next(line for line in lines if line["person_name"] == "周婷")
    assert zhou["id_number"] == "420399201106110581" and not zhou["is_id_valid"]
    assert zhou["hardship_type_code"] == "general_hardship"
    loan = next(line for line in lines if line["program_code"] == "LOAN")
    assert loan["school_code"] is None and loan["stage"] == "tertiary"
    assert all(line["is_id_valid"] for line in lines if line["person_name"] != "周婷")
    assert {line["program_code"] for line in lines} == {
        "BOARD", "NONBOARD", "HS_GRANT", "HS_FEE", "VOC_GRANT", "YULU", "LOAN",
    }  # fmt: skip


def test_population_ledger_and_schools(con):
    residents = by_name(con, "stg_population__residents")
    assert "郑丽" in residents
    assert residents["吴浩"]["resident_status"] == "deceased"
    assert residents["吴浩"]["died_on"] == date(2020, 12, 3)
    assert residents["郑丽"]["birth_on"] == date(2012, 4, 4)
    assert all(r["is_id_valid"] for r in residents.values())

    cases = rows(con, "select * from staging.stg_dropout_ledger__cases")
    assert len(cases) == 1
    assert cases[0]["disposition"] == "not_returned" and cases[0]["is_open"]
    assert cases[0]["recorded_on"] == date(2020, 10, 12)
    assert cases[0]["term_code"] == "2020-autumn"

    schools = {s["school_code"]: s for s in rows(con, "select * from staging.stg_schools__schools")}
    assert len(schools) == 5
    assert [code for code, s in schools.items() if s["is_closed"]] == ["2142039905"]
    assert schools["2142039905"]["school_status"] == "merged"
