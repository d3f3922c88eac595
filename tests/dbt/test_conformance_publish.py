"""The whole pipeline, as `make run` runs it, on hand-made landing folders.

Each landing folder is copied and run once through `python -m orchestration.run` in a
subprocess (ingest, the input checks, `dbt build`, the mart checks, the publish step):

- tests/fixtures/conformance/landing_first_term_one_school/ (2020-autumn, one school)
- tests/fixtures/conformance/landing_two_terms_two_schools/ (2020-autumn and 2021-spring)
- tests/fixtures/samples/ (the worked example of its README)

The run must publish (exit 0), and the published databases must hold the figures of the
landing's hand-written expected.json (see tests/fixtures/conformance/README.md): every
payment line, the coverage, the entitlements, the enrolments, the transitions, the
out-of-school children and exactly the expected findings. People are found in the
analysts' marts by person_key (HMAC-SHA256 of the ID under the test key), in audit.duckdb
by ID, or by name where the ID fails its checksum.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from published_runs import LANDINGS, Run, published

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=sorted(LANDINGS))
def run(request, tmp_path_factory) -> Run:
    return published(request.param, tmp_path_factory.getbasetemp())


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _table(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Schema-qualified name of a published table (found in any schema)."""
    found = con.execute(
        "select schema_name from duckdb_tables() where table_name = ? "
        "union all select schema_name from duckdb_views() where view_name = ?",
        [name, name],
    ).fetchall()
    assert found, f"no table {name}"
    return f'"{found[0][0]}"."{name}"'


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# --------------------------------------------------------------------------- the run


def test_the_run_publishes(run):
    assert run.returncode == run.expected["exit_code"], run.output[-4000:]
    assert (run.warehouse / "analytics.duckdb").exists()
    assert (run.warehouse / "audit.duckdb").exists()


def test_every_file_and_row_was_loaded(run):
    """In the build database, whether or not the gate passed."""
    with duckdb.connect(str(run.warehouse / "build.duckdb"), read_only=True) as con:
        for source, rows in run.expected["raw_rows"].items():
            assert con.execute(f'select count(*) from raw."{source}"').fetchone()[0] == rows
        manifest = {
            (r["source"], r["file_name"]): r
            for r in _rows(con, "select * from raw.load_manifest")
        }  # fmt: skip
    assert all(
        m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] for m in manifest.values()
    )
    for rel, want in run.expected["files"].items():
        source, name = rel.split("/", 1)
        if "same_content_as" in want:
            assert (source, name) not in manifest  # the same bytes: one manifest row
            continue
        m = manifest[(source, name)]
        assert (m["status"], m["rows_loaded"]) == (want["status"], want["rows_loaded"]), rel
        if want["stated_total"] is None:
            assert m["stated_total"] is None, rel
        else:
            assert _money(m["stated_total"]) == _money(want["stated_total"]), rel
            assert m["is_total_reconciled"], rel


# --------------------------------------------------------------------------- the marts


def test_payment_lines(run):
    want = run.expected["payments"]
    with run.database("analytics.duckdb") as con:
        lines = _rows(con, f"select * from {_table(con, 'fct_disbursement')}")
    assert len(lines) == want["lines"]
    assert sum(_money(r["amount_yuan"]) for r in lines) == _money(want["total_yuan"])
    for line in want["by_line"]:
        found = [
            r
            for r in lines
            if Path(str(r["source_file"])).name == line["file"] and r["source_row"] == line["row"]
            and (line["id_number"] is None or r["person_key"] == run.key(line["id_number"]))
        ]  # fmt: skip
        assert len(found) == 1, (line, found)
        (got,) = found
        if line["id_number"] is None:  # an ID that fails its checksum is nobody's
            assert got["person_key"] != run.key(line["not_id_number"])
        assert (
            got["program_code"],
            got["term_code"],
            _money(got["amount_yuan"]),
            str(got["paid_on"]),
            got["is_refund"],
        ) == (
            line["program_code"],
            line["term_code"],
            _money(line["amount_yuan"]),
            line["paid_on"],
            line["is_refund"],
        ), line


def test_coverage(run):
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'rpt_aid_coverage')}")
    for want in run.expected["coverage"]:
        term = [r for r in rows if r["term_code"] == want["term_code"]]
        entitled = sum(r["entitled_students"] for r in term)
        covered = sum(r["fully_covered"] for r in term)
        assert (entitled, covered) == (want["entitled_students"], want["fully_covered"]), want
        for stage, pair in want["by_stage"].items():
            of_stage = [r for r in term if r["stage"] == stage]
            got = [sum(r["entitled_students"] for r in of_stage),
                   sum(r["fully_covered"] for r in of_stage)]  # fmt: skip
            assert got == pair, (want["term_code"], stage)
    for r in rows:
        rate = Decimal(str(r["coverage_rate"]))
        assert abs(rate - Decimal(r["fully_covered"]) / Decimal(r["entitled_students"])) < 1e-6


def test_entitlements(run):
    names = run.names()
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'fct_aid_entitlement')}")
    got = sorted(
        (names.get(r["person_key"], "?"), r["term_code"], r["program_code"], r["stage"],
         _money(r["net_paid_yuan"]), bool(r["is_covered"]))
        for r in rows
    )  # fmt: skip
    want = sorted(
        (e["name"], e["term_code"], e["program_code"], e["stage"], _money(e["net_paid_yuan"]),
         e["is_covered"])
        for e in run.expected["entitlements"]
    )  # fmt: skip
    assert got == want


def test_enrollments(run):
    if "enrollments" not in run.expected:
        pytest.skip("the samples README states no enrolments")
    want = run.expected["enrollments"]
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'fct_enrollment')}")
    for term, count in want["rows_by_term"].items():
        assert sum(r["term_code"] == term for r in rows) == count, term
    for person in want["people"]:
        found = [
            r
            for r in rows
            if r["person_key"] == run.key(person["id_number"])
            and r["term_code"] == person["term_code"]
        ]
        assert len(found) == 1, person
        got = found[0]
        assert (got["school_code"], got["stage"], bool(got["is_boarding"])) == (
            person["school_code"],
            person["stage"],
            person["is_boarding"],
        ), person


def test_students(run):
    if "students_with_valid_id" not in run.expected:
        pytest.skip("no student list for this landing")
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'dim_student')} where is_id_valid")
    got = {r["person_key"]: r for r in rows}
    want = {run.key(s["id_number"]): s for s in run.expected["students_with_valid_id"]}
    assert set(got) == set(want)
    for key, student in want.items():
        assert got[key]["birth_on"] == date.fromisoformat(student["birth_on"]), student
        masked = got[key]["id_number_masked"]
        assert masked == student["id_number"][:6] + "********" + student["id_number"][-4:]


def test_transitions(run):
    if "transitions" not in run.expected:
        pytest.skip("a single term: no transition to the next")
    names = run.names()
    terms = {t["term_code"] for t in run.expected["transitions"]}
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'fct_enrollment_transition')}")
    got = sorted(
        (names.get(r["person_key"], "?"), r["term_code"], r["next_term_code"], r["transition"])
        for r in rows
        if r["term_code"] in terms
    )
    want = sorted(
        (t["name"], t["term_code"], t["next_term_code"], t["transition"])
        for t in run.expected["transitions"]
    )
    assert got == want


def test_out_of_school_children(run):
    names = run.names()
    with run.database("analytics.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'fct_out_of_school_child')}")
    assert sorted((names.get(r["person_key"], "?"), r["term_code"]) for r in rows) == sorted(
        (c["name"], c["term_code"]) for c in run.expected["out_of_school_children"]
    )
    by_person = {(r["person_key"], r["term_code"]): r for r in rows}
    for child in run.expected["out_of_school_children"]:
        got = by_person[(run.key(child["id_number"]), child["term_code"])]
        for field in ("township", "village", "age", "is_hardship"):
            if field in child:
                assert got[field] == child[field], (child["name"], field)


def _expected_who(finding: dict) -> str:
    return finding["id_number"] or f"name:{finding['name']}"


def test_exactly_the_expected_findings(run):
    """audit.duckdb (real IDs and names) holds exactly the expected leads; the analysts'
    fct_audit_finding the same ones, pseudonymous."""
    findings = run.expected["findings"]
    ids = {f["id_number"] for f in findings if f["id_number"]}
    with run.database("audit.duckdb") as con:
        rows = _rows(con, f"select * from {_table(con, 'audit_finding')}")
    got = {}
    for r in rows:  # a valid ID names the person; else (checksum fails) the name does
        who = r["id_number"] if r["id_number"] in ids else f"name:{r['person_name']}"
        got.setdefault((r["finding_type"], r["severity"], r["term_code"], who), []).append(r)
    want = {
        (f["finding_type"], f["severity"], f["term_code"], _expected_who(f)): f for f in findings
    }
    assert sorted(got) == sorted(want)
    assert all(len(v) == 1 for v in got.values()), "a person counts once per type and term"
    for key, f in want.items():
        if "program_code" in f:
            assert got[key][0]["program_code"] == f["program_code"], f
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r["evidence"] or "") for r in rows)

    with run.database("analytics.duckdb") as con:
        published = _rows(con, f"select * from {_table(con, 'fct_audit_finding')}")
    assert sorted((r["finding_type"], r["term_code"]) for r in published) == sorted(
        (f["finding_type"], f["term_code"]) for f in findings
    )


def test_no_real_id_in_the_analysts_database(run):
    ids = {
        row["id_number"]
        for section in ("entitlements", "students_with_valid_id", "out_of_school_children",
                        "findings")
        for row in run.expected.get(section, [])
        if row.get("id_number")
    }  # fmt: skip
    with run.database("analytics.duckdb") as con:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type = 'VARCHAR' and database_name = current_database()"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
            leaked = [v for (v,) in values if any(i in v for i in ids)]
            assert not leaked, (table, column, leaked[:3])
