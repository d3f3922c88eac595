"""The samples' worked example (tests/fixtures/samples/README.md), end to end.

The six sample exports are ingested and the whole dbt project is built on them; the
coverage and the findings must be exactly what the README concludes: 4 entitled
students of whom 3 fully covered, the five findings and no others.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest
from dbt_helpers import REPO, build_db, failures, run_dbt

from orchestration.ingest.loader import load_landing

SAMPLES = REPO / "tests" / "fixtures" / "samples"


@pytest.fixture(scope="module")
def con(tmp_path_factory, pseudonym_key) -> Iterator[duckdb.DuckDBPyConnection]:
    work = tmp_path_factory.mktemp("samples_e2e")
    landing = work / "landing"
    shutil.copytree(SAMPLES, landing, ignore=shutil.ignore_patterns("README.md"))
    database = work / "build.duckdb"
    summary = load_landing(landing, database)
    assert [f.status for f in summary.files] == ["loaded"] * 6
    with build_db(database):
        result = run_dbt(["build"], work)
    bad = failures(result, allow_warn=True)
    assert not bad, "\n".join(bad)
    with duckdb.connect(str(database)) as connection:
        yield connection


@pytest.fixture(scope="module")
def names(con, pseudonym_key) -> dict[str, str]:
    """person_key → name: the restricted persons, and the population register's
    children (keys recomputed with Python's hmac, independently of the UDF)."""
    found = dict(
        con.execute(
            "select person_key, person_name from intermediate.int_persons_unified"
        ).fetchall()
    )
    for id_number, name in con.execute(
        "select id_number, person_name from staging.stg_population__residents"
    ).fetchall():
        key = hmac.new(pseudonym_key.encode(), id_number.encode(), hashlib.sha256).hexdigest()
        found.setdefault(key, name)
    return found


def by_name(con, names: dict[str, str], sql: str) -> list[tuple]:
    """Rows of a query whose first column is a person_key, the key replaced by the
    person's name, sorted."""
    return sorted((names.get(key, "?"), *rest) for key, *rest in con.execute(sql).fetchall())


def test_coverage_is_three_of_four(con, names):
    entitled, covered = con.execute(
        "select sum(entitled_students), sum(fully_covered) from marts.rpt_aid_coverage "
        "where term_code = '2020-autumn'"
    ).fetchone()
    assert (entitled, covered) == (4, 3)
    rows = by_name(
        con,
        names,
        "select person_key, program_code, net_paid_yuan, is_covered from marts.fct_aid_entitlement",
    )
    assert rows == [
        ("王小明", "BOARD", Decimal("500.00"), True),
        ("王小红", "NONBOARD", Decimal("250.00"), True),
        ("陈志刚", "VOC_FEE", Decimal("0.00"), False),
        ("陈志刚", "VOC_GRANT", Decimal("1000.00"), True),  # 2000 paid, 1000 refunded
        ("陈志刚", "YULU", Decimal("1500.00"), True),
        ("陈志强", "HS_FEE", Decimal("800.00"), True),  # exited 2019: policy continues
        ("陈志强", "HS_GRANT", Decimal("1000.00"), True),
    ]


def test_the_five_findings_and_no_others(con, names):
    rows = by_name(
        con,
        names,
        "select person_key, finding_type, term_code, program_code from marts.fct_audit_finding",
    )
    # 周婷's ID fails its checksum: she is matched to no one in the registries, so her
    # name comes from the payment list.
    assert rows == [
        ("吴浩", "INELIGIBLE_RECIPIENT", "2020-autumn", "BOARD"),
        ("吴浩", "PAID_AFTER_DEATH", "2020-autumn", "BOARD"),
        ("周婷", "IDENTITY_CONFLICT", "2020-autumn", "NONBOARD"),
        ("郑丽", "OUT_OF_SCHOOL_CHILD", "2020-autumn", None),
        ("陈志刚", "MISSED_ELIGIBLE", "2020-autumn", "VOC_FEE"),
    ]


def test_every_finding_says_why_in_chinese_and_traces_to_its_lines(con):
    rows = con.execute(
        "select finding_type, evidence, source_lines from marts.fct_audit_finding"
    ).fetchall()
    assert all(
        evidence and any("\u4e00" <= ch <= "\u9fff" for ch in evidence) for _, evidence, _ in rows
    )
    lines = {t: s for t, _, s in rows}
    assert "示范县2020年秋季学期学生资助发放明细.csv" in lines["PAID_AFTER_DEATH"]
    assert "示范县2020年秋季学期学生资助发放明细.csv" in lines["IDENTITY_CONFLICT"]


def test_payment_lines_add_up_to_the_files_total(con):
    total = con.execute("select sum(amount_yuan) from marts.fct_disbursement").fetchone()[0]
    assert total == Decimal("13925.00")
