"""The term reports that `make run` writes, every number recomputed independently.

The whole pipeline (`python -m orchestration.run`, as `make run`) runs once per landing
folder and test session (tests/published_runs.py, shared with the conformance tests): the
samples of the worked example (tests/fixtures/samples/README.md) and the conformance folder
of two terms and two schools. The publish step writes
`<warehouse>/reports/term_report/<term>.html`; each figure on each page, read from the page,
must equal what pandas computes from the published tables the report does not read through
its own queries: money, 人次 and 人 from fct_disbursement's payment lines; coverage from
fct_aid_entitlement (not the rpt_ mart); 辍学率 / 巩固率 from fct_dropout_cohort; the
out-of-school children and the findings from their facts. For the samples the figures the
README states by hand are checked too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from published_runs import published

from reports.term_report_helpers import figures_of, number

pytestmark = pytest.mark.slow

LANDINGS = {"samples": "samples", "two_terms": "two_terms_two_schools"}  # published_runs
VARIANTS = ("dropout_rates:variant", "dropout_rates:consolidation_rate_variant")


@pytest.fixture(scope="module", params=sorted(LANDINGS))
def warehouse(request, tmp_path_factory) -> Path:
    """The warehouse the conformance tests' pipeline run published (one run per session)."""
    run = published(LANDINGS[request.param], tmp_path_factory.getbasetemp())
    assert run.returncode == 0, run.output[-4000:]
    return run.warehouse


def tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as con:
        frame = {
            name: con.execute(f"select * from marts.{name}").df()
            for name in (
                "dim_term", "fct_disbursement", "fct_aid_entitlement", "fct_dropout_cohort",
                "rpt_dropout_rates", "fct_out_of_school_child", "fct_audit_finding",
            )
        }  # fmt: skip
    for name in ("fct_disbursement", "fct_audit_finding"):  # money in Decimal, as published
        frame[name]["amount_yuan"] = frame[name].amount_yuan.map(
            lambda x: None if pd.isna(x) else Decimal(str(x))
        )
    return frame


def wan(yuan) -> str:
    return str((Decimal(str(yuan)) / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def pct(numerator: int, denominator: int) -> str:
    if not denominator:
        return "—"
    rate = Decimal(numerator) / Decimal(denominator) * 100
    return f"{rate.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def expected_figures(t: dict[str, pd.DataFrame], term: str, school_year: str) -> dict[str, str]:
    """Every figure of the term's page, from the facts, in pandas."""
    want: dict[str, str] = {}

    lines = t["fct_disbursement"].query("term_code == @term")
    for code, group in [("total", lines), *lines.groupby("program_code")]:
        per_person = group.groupby(["program_code", "person_key"]).amount_yuan.agg(
            lambda amounts: sum(amounts, Decimal(0))
        )
        per_person = per_person.groupby(level="person_key").max()  # paid in any programme
        want[f"funds_by_program:{code}:net_wan_yuan"] = wan(sum(group.amount_yuan, Decimal(0)))
        times = int((~group.is_refund).sum()) - int(group.is_refund.sum())
        want[f"funds_by_program:{code}:person_times"] = str(times)
        want[f"funds_by_program:{code}:persons"] = str(int((per_person > 0).sum()))

    ent = t["fct_aid_entitlement"].query("term_code == @term")
    students = ent.groupby(["person_key", "township", "stage"], as_index=False).is_covered.all()
    for key, group in [
        ("total", students),
        *((f"{tw}/{st}", g) for (tw, st), g in students.groupby(["township", "stage"])),
        *((f"{tw}/all", g) for tw, g in students.groupby("township")),
    ]:
        entitled, covered = len(group), int(group.is_covered.sum())
        want[f"coverage:{key}:entitled"] = str(entitled)
        want[f"coverage:{key}:fully_covered"] = str(covered)
        want[f"coverage:{key}:coverage_rate"] = pct(covered, entitled)

    cohort = t["fct_dropout_cohort"].query("school_year <= @school_year")
    published = t["rpt_dropout_rates"].query("is_default_variant")
    (variant,) = set(published.variant)
    if variant == "default":  # the deceased and transferred out are in neither count
        cohort = cohort[~cohort.is_excluded]
    for year, in_year in cohort.groupby("school_year"):
        for stage, group in [("all", in_year), *in_year.groupby("stage")]:
            enrolled, dropouts = len(group), int(group.is_dropout.sum())
            key = f"dropout_rates:{year}/{stage}"
            want[f"{key}:enrolled"] = str(enrolled)
            want[f"{key}:dropouts"] = str(dropouts)
            want[f"{key}:dropout_rate"] = pct(dropouts, enrolled)
            compulsory = stage in ("primary", "junior")
            want[f"{key}:consolidation_rate"] = (
                pct(enrolled - dropouts, enrolled) if compulsory and enrolled else "—"
            )

    children = t["fct_out_of_school_child"].query("term_code == @term")
    for key, group in [("total", children), *children.groupby("township")]:
        want[f"out_of_school:{key}:children"] = str(len(group))
        want[f"out_of_school:{key}:hardship_children"] = str(int(group.is_hardship.sum()))

    terms = t["dim_term"].dropna(subset=["term_idx"]).set_index("term_code").term_idx
    findings = t["fct_audit_finding"]
    before = terms.index[terms == terms[term] - 1]
    earlier = set(
        map(tuple, findings[findings.term_code.isin(before)][["finding_type", "person_key"]].values)
    )
    now = findings.query("term_code == @term")
    for code, group in [("total", now), *now.groupby("finding_type")]:
        carried = sum((f, p) in earlier for f, p in group[["finding_type", "person_key"]].values)
        want[f"findings:{code}:findings"] = str(len(group))
        want[f"findings:{code}:carried_over"] = str(carried)
        want[f"findings:{code}:new"] = str(len(group) - carried)
        amounts = [a for a in group.amount_yuan if a is not None]
        want[f"findings:{code}:amount_wan_yuan"] = wan(sum(amounts, Decimal(0)))
    return want


def terms_of(t: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    terms = t["dim_term"].dropna(subset=["term_idx"]).sort_values("term_idx")
    return list(terms[["term_code", "school_year"]].itertuples(index=False, name=None))


def check_every_figure(warehouse: Path) -> int:
    """Assert each recomputed figure is on its page as computed; zeros of what the data
    lacks (a programme nobody was paid, a finding type not found) must show zero. Returns
    how many figures were compared."""
    t = tables(warehouse)
    compared = 0
    for term, school_year in terms_of(t):
        page = warehouse / "reports" / "term_report" / f"{term}.html"
        shown = {k: number(v) for k, v in figures_of(page).items()}
        want = expected_figures(t, term, school_year)
        for name, value in want.items():
            assert shown.get(name) == value, (term, name, shown.get(name), value)
        # every figure the page shows was recomputed, or is a zero of a row with no data
        # (or the hardship breakdown, checked against its mart in the test below)
        for name, value in shown.items():
            if name in want or name.startswith("hardship_dropout_rates:") or name in VARIANTS:
                continue
            assert value in ("0", "0.00", "—"), (term, name, value)
        compared += len(want)
    return compared


def test_every_figure_of_every_term_report_recomputed_from_the_facts(warehouse):
    assert check_every_figure(warehouse) > 50


def test_the_hardship_rates_and_the_variant_are_the_marts(warehouse):
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as con:
        variant, c_variant = con.execute(
            "select distinct variant, consolidation_rate_variant "
            "from marts.rpt_dropout_rates where is_default_variant"
        ).fetchone()
        hardship = con.execute(
            "select school_year, is_hardship, enrolled, dropouts from "
            "marts.rpt_dropout_rates_by_group where is_default_variant "
            "and breakdown = 'hardship' and stage = 'all'"
        ).fetchall()
    t = tables(warehouse)
    for term, school_year in terms_of(t):
        shown = figures_of(warehouse / "reports" / "term_report" / f"{term}.html")
        assert shown["dropout_rates:variant"] == variant
        assert shown["dropout_rates:consolidation_rate_variant"] == c_variant
        for year, is_hardship, enrolled, dropouts in hardship:
            if year != school_year:
                continue
            key = "hardship" if is_hardship else "other"
            assert shown[f"hardship_dropout_rates:{key}:enrolled"] == f"{enrolled:,}"
            assert shown[f"hardship_dropout_rates:{key}:dropouts"] == f"{dropouts:,}"
            assert shown[f"hardship_dropout_rates:{key}:dropout_rate"] == pct(dropouts, enrolled)


def test_the_samples_report_says_what_their_readme_concludes(warehouse, request):
    if "samples" not in request.node.callspec.id:
        pytest.skip("the README's figures are the samples'")
    pages = sorted((warehouse / "reports" / "term_report").glob("*.html"))
    assert [p.name for p in pages] == ["2020-autumn.html", "index.html"]
    f = figures_of(warehouse / "reports" / "term_report" / "2020-autumn.html")
    # the payment lines add up to the file's own total, 13,925.00 yuan
    assert f["funds_by_program:total:net_wan_yuan"] == "1.39"
    # 王小明 500 and 吴浩 625 (paid after his death): 1,125 yuan
    assert (f["funds_by_program:BOARD:net_wan_yuan"], f["funds_by_program:BOARD:persons"]) == (
        "0.11",
        "2",
    )
    # 陈志刚: 2,000 paid, 1,000 refunded: one payment of 1,000, one person, 1 人次
    voc_grant = [f[f"funds_by_program:VOC_GRANT:{c}"] for c in ("net_wan_yuan", "person_times")]
    assert [*voc_grant, f["funds_by_program:VOC_GRANT:persons"]] == ["0.10", "1", "1"]
    assert f["funds_by_program:VOC_FEE:persons"] == "0"  # missed: the MISSED_ELIGIBLE lead
    assert f["funds_by_program:LOAN:net_wan_yuan"] == "0.80"  # 赵磊's loan, 8,000
    # 11 lines less the refund and the line it refunds: 9; 王小明, 王小红, 陈志强, 陈志刚,
    # 吴浩, 赵磊 and the payment whose ID fails its checksum (周婷's): 7
    assert f["funds_by_program:total:person_times"] == "9"
    assert f["funds_by_program:total:persons"] == "7"
    # entitled students 4, fully covered 3, rate 75%
    assert [f[f"coverage:total:{c}"] for c in ("entitled", "fully_covered", "coverage_rate")] == [
        "4",
        "3",
        "75.00%",
    ]
    assert f["coverage:中峰镇/vocational:coverage_rate"] == "0.00%"  # 陈志刚
    # the five findings, one of each type, all new (the first term)
    for code in ("MISSED_ELIGIBLE", "IDENTITY_CONFLICT", "PAID_AFTER_DEATH",
                 "INELIGIBLE_RECIPIENT", "OUT_OF_SCHOOL_CHILD"):  # fmt: skip
        assert (f[f"findings:{code}:findings"], f[f"findings:{code}:new"]) == ("1", "1"), code
    assert f["findings:total:findings"] == "5"
    assert f["findings:DUPLICATE_PAYMENT:findings"] == "0"  # the refunded duplicate is not one
    # 郑丽, aged 8, not enrolled, in 中峰镇 (麻家渡村)
    assert f["out_of_school:中峰镇:children"] == "1"
    assert f["out_of_school:total:children"] == "1"


def test_the_run_summary_and_the_reports_index_point_to_the_term_reports(warehouse):
    reports = warehouse / "reports"
    summary = (reports / "run_summary.md").read_text("utf-8")
    assert str(reports / "term_report" / "index.html") in summary
    assert 'href="term_report/index.html"' in (reports / "index.html").read_text("utf-8")
    index = (reports / "term_report" / "index.html").read_text("utf-8")
    for term, _ in terms_of(tables(warehouse)):
        assert f'href="{term}.html"' in index
