"""The term report's figures: every one comes from the published `analytics.duckdb` through
ONE of the named queries in `QUERIES` (each says what it counts; `$term_code` /
`$school_year` are its parameters), so that a reader can rerun it in duckdb:

    duckdb -readonly warehouse/analytics.duckdb
    prepare funds_by_program as <the query's SQL>;
    execute funds_by_program(term_code := '2020-autumn');

`python -m orchestration.reports.term_report` prints them all. `read_term_figures` runs them
for one term into a `TermFigures`, the rows the page and the charts are drawn from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

ALL = "all"  # the stage of rpt_dropout_rates that counts every stage


@dataclass(frozen=True)
class Query:
    doc: str  # what it counts, in one or two sentences
    sql: str


# Every figure of the report, query by query. Parameters: $term_code, $school_year (a query
# uses those it names). `python -m orchestration.reports.term_report` prints them all.
QUERIES: dict[str, Query] = {
    "terms": Query(
        "Every term of the marts (dim_term without its unknown member), in time order.",
        """
        select term_code, school_year, semester, term_idx
        from marts.dim_term
        where term_code <> 'unknown'
        order by term_idx
        """,
    ),
    "county": Query(
        "The county (or counties) the marts describe, for the title.",
        """
        select distinct county from marts.dim_area where county is not null order by county
        """,
    ),
    "funds_by_program": Query(
        "Per programme and in total (program_code null) for the term, from "
        "rpt_aid_funds_by_program: net_yuan (refunds net out), person_times (人次) and "
        "persons (人; in total: persons paid in any programme).",
        """
        select program_code, net_paid_yuan as net_yuan, person_times, persons
        from marts.rpt_aid_funds_by_program
        where term_code = $term_code
        """,
    ),
    "coverage": Query(
        "资助覆盖率 (应助尽助) of the term from rpt_aid_coverage: entitled students, fully "
        "covered students (every programme they are entitled to paid, net > 0) and "
        "rate = fully covered / entitled, by township and stage, by township (stage null) "
        "and for the county (both null).",
        """
        select
            township,
            stage,
            sum(entitled_students) as entitled,
            sum(fully_covered) as fully_covered,
            sum(fully_covered) / nullif(sum(entitled_students), 0) as coverage_rate
        from marts.rpt_aid_coverage
        where term_code = $term_code
        group by grouping sets ((township, stage), (township), ())
        """,
    ),
    "dropout_rates": Query(
        "辍学率 and 巩固率 of every school year up to the term's, per stage ('all' = every "
        "stage), in the variant the marts publish as default (variant, "
        "consolidation_rate_variant name it; is_partial_year: the next autumn is not yet in "
        "the data), from rpt_dropout_rates.",
        """
        select
            school_year, stage, variant, consolidation_rate_variant, enrolled, dropouts,
            dropout_rate, consolidation_rate, is_partial_year
        from marts.rpt_dropout_rates
        where is_default_variant and school_year <= $school_year
        order by school_year, stage
        """,
    ),
    "hardship_dropout_rates": Query(
        "The same rates for hardship students (is_hardship true) and the others, every "
        "stage together, of the term's school year, from rpt_dropout_rates_by_group.",
        """
        select is_hardship, enrolled, dropouts, dropout_rate
        from marts.rpt_dropout_rates_by_group
        where is_default_variant and breakdown = 'hardship' and stage = 'all'
            and school_year = $school_year
        order by is_hardship desc
        """,
    ),
    "out_of_school": Query(
        "Out-of-school children of compulsory age (四查三比对) in the term, by township and "
        "in total (township null), with those of hardship households, from "
        "fct_out_of_school_child.",
        """
        select
            township,
            count(*) as children,
            count(*) filter (where is_hardship) as hardship_children
        from marts.fct_out_of_school_child
        where term_code = $term_code
        group by grouping sets ((township), ())
        """,
    ),
    "findings": Query(
        "Audit leads (问题线索) of the term by type and in total (finding_type null): leads "
        "(one per person, type and term), carried_over = those fct_audit_finding marks "
        "is_carried_over (上学期已报、本学期仍存在), new = the others, amount_yuan = the "
        "amounts involved.",
        """
        select
            finding_type,
            count(*) as findings,
            count(*) filter (where not is_carried_over) as new,
            count(*) filter (where is_carried_over) as carried_over,
            coalesce(sum(amount_yuan), 0) as amount_yuan
        from marts.fct_audit_finding
        where term_code = $term_code
        group by grouping sets ((finding_type), ())
        """,
    ),
}


# --- reading the marts --------------------------------------------------------------


@dataclass
class TermFigures:
    term_code: str
    school_year: str
    county: str | None
    rows: dict[str, list[dict]] = field(default_factory=dict)  # query name -> rows

    def total(self, query: str, key: str) -> dict:
        """The grand-total row of a grouping-sets query (its key column null)."""
        return next((r for r in self.rows[query] if r[key] is None), {})


def run_query(con: duckdb.DuckDBPyConnection, name: str, **params) -> list[dict]:
    sql = QUERIES[name].sql
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    cursor = con.execute(sql, used) if used else con.execute(sql)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def read_tables() -> list[str]:
    """The marts tables the queries read."""
    return sorted({t for q in QUERIES.values() for t in re.findall(r"marts\.(\w+)", q.sql)})


def missing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    return [f"marts.{t}" for t in read_tables() if t not in present]


def read_terms(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return run_query(con, "terms")


def read_term_figures(
    con: duckdb.DuckDBPyConnection, term_code: str, school_year: str
) -> TermFigures:
    counties = [r["county"] for r in run_query(con, "county")]
    figures = TermFigures(term_code, school_year, counties[0] if len(counties) == 1 else None)
    for name in QUERIES:
        if name in ("terms", "county"):
            continue
        figures.rows[name] = run_query(con, name, term_code=term_code, school_year=school_year)
    return figures
