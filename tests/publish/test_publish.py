"""Publishing: only through a passing gate, atomically, and nothing restricted reaches analysts.

A tiny hand-made build database (schemas marts, intermediate, staging, raw; a few rows),
no dbt and no county.
"""

from __future__ import annotations

import hashlib
import re

import duckdb
import pytest

from orchestration.publish import PublishBlocked, PublishError, publish
from orchestration.publish.step import WORKBOOK, publish_run
from orchestration.quality import CheckResult
from orchestration.quality.history import BLOCKED, PUBLISHED, History
from orchestration.quality.suites import discover
from orchestration.settings import get_settings

# 18 characters standing alone (not inside a longer run of letters and digits, such as a
# hex pseudonym, in which 18 digits in a row occur by chance): in Chinese text, masked or bare
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def is_valid_id(s: str) -> bool:
    """GB 11643, written here independently of the dbt macros."""
    return (
        len(s) == 18 and s[:17].isdigit() and s[17] in "0123456789X" and check_char(s[:17]) == s[17]
    )


def make_id(body: str) -> str:
    return body + check_char(body)


ID_PAID = make_id("42039920100101001")
ID_DEAD = make_id("42039920090505002")
ID_CHILD = make_id("42039920150707003")  # only in the population register
NAMES = {ID_PAID: "张小明", ID_DEAD: "李红", ID_CHILD: "王小虎"}


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:]


def key(id_number: str) -> str:
    return hashlib.sha256(b"test" + id_number.encode()).hexdigest()


def make_build_db(path):
    con = duckdb.connect(str(path))
    for schema in ("raw", "staging", "intermediate", "marts"):
        con.execute(f"create schema {schema}")
    con.execute("""
        create table intermediate.int_persons_unified
            (person_nk varchar, person_key varchar, id_number varchar,
             id_number_masked varchar, person_name varchar)
    """)
    for id_number in (ID_PAID, ID_DEAD):
        con.execute(
            "insert into intermediate.int_persons_unified values (?, ?, ?, ?, ?)",
            [id_number, key(id_number), id_number, masked(id_number), NAMES[id_number]],
        )
    # the register: a raw table, a staging view on it (qualified by database, as dbt's are)
    con.execute("create table raw.population (row_key varchar, id varchar, name varchar)")
    con.execute("insert into raw.population values ('r1', ?, ?)", [ID_CHILD, NAMES[ID_CHILD]])
    con.execute("""
        create view staging.stg_population__residents as
        select row_key as resident_row_key, id as id_number, name as person_name
        from "build".raw.population
    """)
    con.execute("""
        create table intermediate.int_population_residents_keyed
            (resident_row_key varchar, person_key varchar, snapshot_on date)
    """)
    con.execute(
        "insert into intermediate.int_population_residents_keyed values ('r1', ?, '2021-09-01')",
        [key(ID_CHILD)],
    )
    con.execute("""
        create table marts.dim_student
            (person_key varchar, id_number_masked varchar, sex varchar, is_id_valid boolean)
    """)
    for id_number in (ID_PAID, ID_DEAD):
        con.execute(
            "insert into marts.dim_student values (?, ?, 'M', true)",
            [key(id_number), masked(id_number)],
        )
    con.execute("""
        create table marts.fct_disbursement
            (disbursement_key varchar, term_code varchar, program_code varchar,
             person_key varchar, amount_yuan decimal(12, 2), source_file varchar,
             source_row integer, paid_on date default '2021-10-08')
    """)
    con.executemany(
        "insert into marts.fct_disbursement (disbursement_key, term_code, program_code,"
        " person_key, amount_yuan, source_file, source_row)"
        " values (?, '2021-autumn', 'BOARD', ?, 625, ?, ?)",
        [
            ("d1", key(ID_PAID), "pay_2021a.xlsx", 3),
            ("d2", key(ID_DEAD), "pay_2021a.xlsx", 4),
            ("d3", key(ID_DEAD), "pay_2021a.xlsx", 5),
        ],
    )
    con.execute("""
        create table marts.fct_audit_finding
            (finding_key varchar, finding_type varchar, severity varchar, term_code varchar,
             person_key varchar, id_number_masked varchar, program_code varchar,
             disbursement_keys varchar[], evidence varchar, school_code varchar,
             finding_name_cn varchar, source_lines varchar, severity_rank integer,
             amount_yuan decimal(12, 2))
    """)
    con.execute(
        "insert into marts.fct_audit_finding values"
        " ('f1', 'PAID_AFTER_DEATH', 'critical', '2021-autumn', ?, ?, 'BOARD', ['d2', 'd3'],"
        "  '死亡后仍发放', 's1', '死亡后仍发放', 'pay.xlsx 第3行', 1, 1250),"
        " ('f2', 'OUT_OF_SCHOOL_CHILD', 'high', '2021-autumn', ?, null, null, [], '未在学籍',"
        "  null, '适龄儿童失学辍学', null, 2, null)",
        [key(ID_DEAD), masked(ID_DEAD), key(ID_CHILD)],
    )
    # what dbt's models/restricted/ builds from these (its unit test checks the joins)
    con.execute("create schema restricted")
    con.execute("""
        create table restricted.audit_finding as
        select *, null::varchar as id_number, null::varchar as person_name,
            null::varchar as school_name, null::varchar as program_name
        from marts.fct_audit_finding
    """)
    for finding, id_number in (("f1", ID_DEAD), ("f2", ID_CHILD)):
        con.execute(
            "update restricted.audit_finding set id_number = ?, person_name = ? "
            "where finding_key = ?",
            [id_number, NAMES[id_number], finding],
        )
    con.execute("""
        create table restricted.audit_finding_payment_line as
        select 'f1' as finding_key, * from marts.fct_disbursement
        where disbursement_key in ('d2', 'd3')
    """)
    con.close()
    return path


def passed(column="disbursement_key"):
    return CheckResult(
        "expect_column_values_to_not_be_null", column, "critical", True, unexpected_count=0
    )


@pytest.fixture
def settings(tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    make_build_db(warehouse / "build.duckdb")
    return get_settings({"EDUAID_WAREHOUSE": str(warehouse), "EDUAID_LANDING": str(tmp_path)})


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_values(path):
    """Every value of every VARCHAR (or VARCHAR[]) column of every table, as text."""
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("""
            select schema_name, table_name, column_name from duckdb_columns()
            where data_type in ('VARCHAR', 'VARCHAR[]') and not internal
        """).fetchall()
        assert columns
        for schema, table, column in columns:
            for (value,) in con.execute(
                f'select cast("{column}" as varchar) from "{schema}"."{table}"'
            ).fetchall():
                if value is not None:
                    yield f"{schema}.{table}.{column}", value


def test_a_clean_gate_publishes_both_files_and_analytics_has_no_real_ids_or_names(settings):
    result = publish(settings, {"fct_disbursement": [passed(), passed("amount_yuan")]})

    analytics = settings.warehouse / "analytics.duckdb"
    audit = settings.warehouse / "audit.duckdb"
    assert result.analytics == analytics and analytics.exists() and audit.exists()
    assert result.tables == {"dim_student": 2, "fct_audit_finding": 2, "fct_disbursement": 3}
    assert not list(settings.warehouse.glob(".*tmp*"))

    with duckdb.connect(str(analytics), read_only=True) as con:
        names = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert names == {"dim_student", "fct_audit_finding", "fct_disbursement"}

    with duckdb.connect(str(settings.build_db), read_only=True) as con:
        restricted_names = {
            r[0]
            for r in con.execute(
                "select person_name from intermediate.int_persons_unified"
                " union select person_name from staging.stg_population__residents"
            ).fetchall()
        }
    assert restricted_names == set(NAMES.values())
    seen = 0
    for where, value in text_values(analytics):
        seen += 1
        for candidate in ID_LIKE.findall(value):
            assert not is_valid_id(candidate), f"real ID {candidate} in {where}"
        for name in restricted_names:
            assert name not in value, f"name {name} in {where}"
    assert seen > 10
    # the scan would see one, bare or in a sentence, but not a run of digits inside a hex key
    assert ID_LIKE.findall(f"身份证{ID_PAID}，") == [ID_PAID] and is_valid_id(ID_PAID)
    assert ID_LIKE.findall(f"ab{ID_PAID}cd") == []

    # the auditors' file: real IDs and names, and the findings' payment lines
    with duckdb.connect(str(audit), read_only=True) as con:
        findings = con.execute(
            "select finding_key, id_number, person_name from audit_finding order by finding_key"
        ).fetchall()
        lines = con.execute(
            "select finding_key, disbursement_key, source_file, source_row"
            " from audit_finding_payment_line order by disbursement_key"
        ).fetchall()
    assert findings == [
        ("f1", ID_DEAD, NAMES[ID_DEAD]),
        ("f2", ID_CHILD, NAMES[ID_CHILD]),  # from the population register
    ]
    assert lines == [("f1", "d2", "pay_2021a.xlsx", 4), ("f1", "d3", "pay_2021a.xlsx", 5)]
    assert (result.findings, result.payment_lines) == (2, 2)


def test_a_failed_critical_expectation_blocks_and_the_previous_publish_is_untouched(settings):
    publish(settings, {"fct_disbursement": [passed()]})
    analytics = settings.warehouse / "analytics.duckdb"
    audit = settings.warehouse / "audit.duckdb"
    before = (sha256(analytics), sha256(audit))

    failed = CheckResult(
        "expect_column_values_to_be_between",
        "amount_yuan",
        "critical",
        False,
        unexpected_count=2,
        examples=[{"disbursement_key": "d2"}],
    )
    warning = CheckResult("expect_column_values_to_not_be_null", "paid_on", "warning", False, 0, 5)
    with pytest.raises(PublishBlocked) as blocked:
        publish(settings, {"fct_disbursement": [passed(), failed, warning]})

    message = str(blocked.value)
    assert "fct_disbursement: expect_column_values_to_be_between on amount_yuan" in message
    assert "unexpected 2" in message
    assert "paid_on" not in message  # a warning does not block
    assert len(blocked.value.reasons) == 1
    assert (sha256(analytics), sha256(audit)) == before
    assert not list(settings.warehouse.glob(".*tmp*"))


def test_a_warning_alone_does_not_block(settings):
    warning = CheckResult("expect_column_values_to_not_be_null", "paid_on", "warning", False, 0, 5)
    publish(settings, {"fct_disbursement": [passed(), warning]})
    assert (settings.warehouse / "analytics.duckdb").exists()


@pytest.mark.parametrize("gate", [None, {}, {"fct_disbursement": []}])
def test_an_empty_gate_blocks(settings, gate):
    with pytest.raises(PublishBlocked, match="no results"):
        publish(settings, gate)
    assert not (settings.warehouse / "analytics.duckdb").exists()
    assert not (settings.warehouse / "audit.duckdb").exists()


def test_a_build_that_cannot_be_published_leaves_the_previous_publish_whole(settings):
    publish(settings, {"fct_disbursement": [passed()]})
    files = [settings.warehouse / "analytics.duckdb", settings.warehouse / "audit.duckdb"]
    before = [sha256(f) for f in files]
    with duckdb.connect(str(settings.build_db)) as con:
        con.execute("drop table restricted.audit_finding")
        con.execute("create table marts.rpt_new (x integer)")

    with pytest.raises(PublishError, match=r"restricted\.audit_finding"):
        publish(settings, {"fct_disbursement": [passed()]})

    assert [sha256(f) for f in files] == before  # analytics.duckdb not replaced alone
    assert not list(settings.warehouse.glob(".*tmp*"))


def test_the_publish_step_reads_this_runs_results_back(settings):
    """`publish_run` takes the gate from the results history: every check of this run."""
    history = History(settings.warehouse / "reports")
    checks = discover()
    for check in checks:
        history.record("good", check, [passed()])
    published = publish_run(settings, "good")
    assert published.analytics.exists()
    assert history.outcome("good") == (PUBLISHED, [])
    assert (settings.warehouse / "reports" / WORKBOOK).exists()

    before = sha256(published.analytics)
    bad = CheckResult(
        expectation="expect_column_values_to_be_between",
        column="amount_yuan",
        severity="critical",
        success=False,
        unexpected_count=1,
    )
    for check in checks:
        history.record("bad", check, [bad if check.name == "fct_disbursement" else passed()])
    with pytest.raises(PublishBlocked, match=r"fct_disbursement: .*amount_yuan.*unexpected 1"):
        publish_run(settings, "bad")
    outcome, reasons = history.outcome("bad")
    assert outcome == BLOCKED and len(reasons) == 1
    assert sha256(published.analytics) == before


def test_a_reader_keeps_the_old_data_during_a_publish_and_sees_the_new_on_reopening(settings):
    publish(settings, {"fct_disbursement": [passed()]})
    analytics = settings.warehouse / "analytics.duckdb"
    reader = duckdb.connect(str(analytics), read_only=True)
    try:
        with duckdb.connect(str(settings.build_db)) as con:
            con.execute("delete from marts.fct_disbursement where disbursement_key = 'd1'")
        publish(settings, {"fct_disbursement": [passed()]})
        count = "select count(*) from marts.fct_disbursement"
        assert reader.execute(count).fetchone()[0] == 3  # the previous publish, whole
    finally:
        reader.close()
    with duckdb.connect(str(analytics), read_only=True) as con:
        assert con.execute(count).fetchone()[0] == 2
