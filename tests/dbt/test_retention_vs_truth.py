"""The retention marts against the generator's truth, for two seeds at county scale.

Transitions, the dropout cohort, the dropout rates (both variants), the out-of-school
children and the open ledger cases must equal the truth exactly. Person keys are
recomputed here with Python's hmac, independently of the UDF.

One known defect of the truth is allowed for, and only that one: the truth marks as
``deceased`` a pupil who died when no export can show it: a pupil from outside the
county (户籍 县外) is never in the county's population register, and once dead is
simply absent from the next 学籍. The exports show such a pupil as gone with no
explanation (名在人不在); so is a county pupil who dies aged 18 or more (the register
lists children under 18 only). For such a pupil the pipeline must say what the
exports show: ``graduated`` from the final grade of a stage at the end of spring, else
``dropped_out``. These rows are found from the exports (no death in any
population-register export, not listed in the next 学籍) and their expected values
corrected, in the transitions and in what follows from them (cohort flags, rates);
everything else must equal the truth file itself.
"""

from __future__ import annotations

import pandas as pd
import pytest
from dbt_helpers import SEEDS_DIR, compare

pytestmark = pytest.mark.slow

MAX_UNSEEN_DEATHS = 20  # a handful per county; more would be a new problem


def _text(flag: bool) -> str:
    return "true" if flag else "false"


def _unseen_deaths(built) -> pd.DataFrame:
    """Truth transitions to ``deceased`` that no export shows (see the module doc)."""
    transitions = built.truth("transitions")
    enrollments = built.truth("enrollments")[["person_nk", "term_code"]]
    reported = set(
        built.sql(
            "select distinct id_number from staging.stg_population__residents "
            "where resident_status = 'deceased' and id_number is not null"
        )["id_number"]
    )
    listed_next = transitions.merge(
        enrollments.rename(columns={"term_code": "next_term_code"}),
        on=["person_nk", "next_term_code"],
        how="left",
        indicator=True,
    )["_merge"].eq("both")
    unseen = transitions[
        transitions["transition"].eq("deceased")
        & transitions["status_in_term"].ne("deceased")
        & ~listed_next.to_numpy()
        & ~transitions["person_nk"].isin(reported)
    ]
    assert len(unseen) <= MAX_UNSEEN_DEATHS, f"{len(unseen)} deaths no export shows"
    return unseen[["person_nk", "term_code"]]


def _expected_transitions(built) -> pd.DataFrame:
    truth = built.truth("transitions")
    unseen = _unseen_deaths(built).assign(_unseen=True)
    final_grades = set(
        pd.read_csv(SEEDS_DIR / "grade_crosswalk.csv").query("is_final_grade")["grade_label"]
    )
    grades = built.truth("enrollments")[["person_nk", "term_code", "grade_label"]]
    truth = truth.merge(unseen, on=["person_nk", "term_code"], how="left").merge(
        grades, on=["person_nk", "term_code"], how="left"
    )
    unseen_rows = truth["_unseen"].eq(True)
    graduates = (
        truth["status_in_term"].eq("enrolled")
        & truth["term_code"].str.endswith("spring")
        & truth["grade_label"].isin(final_grades)
    )
    truth.loc[unseen_rows, "transition"] = "dropped_out"
    truth.loc[unseen_rows & graduates, "transition"] = "graduated"
    return truth.drop(columns=["_unseen", "grade_label"])


def _expected_cohort(built) -> pd.DataFrame:
    """The truth's cohort, its flags re-derived for the persons of an unseen death."""
    cohort = built.truth("dropout_cohort")
    unseen = set(_unseen_deaths(built)["person_nk"])
    transitions = _expected_transitions(built)
    transitions = transitions[transitions["person_nk"].isin(unseen)]
    terms = built.sql("select term_code, school_year from marts.dim_term")
    transitions = transitions.merge(terms, on="term_code")
    for index, row in cohort[cohort["person_nk"].isin(unseen)].iterrows():
        year = transitions[
            transitions["person_nk"].eq(row["person_nk"])
            & transitions["school_year"].eq(row["school_year"])
        ]
        if row["is_partial_year"] == "true":
            year = year[year["term_code"].str.endswith("autumn")]
        outcomes = set(year["transition"])
        cohort.loc[index, "is_excluded"] = _text(bool(outcomes & {"deceased", "transferred_out"}))
        cohort.loc[index, "is_dropout"] = _text("dropped_out" in outcomes)
    return cohort


def _rates(cohort: pd.DataFrame) -> pd.DataFrame:
    """dropout_rates.csv's formulas (truth/README.md) over a cohort."""
    cohort = cohort.assign(
        is_excluded=cohort["is_excluded"].eq("true"), is_dropout=cohort["is_dropout"].eq("true")
    )
    out = []
    for variant in ("default", "lianji"):
        counted = cohort if variant == "lianji" else cohort[~cohort["is_excluded"]]
        for stage, group in [("all", counted), *counted.groupby("stage")]:
            g = group.groupby("school_year")["is_dropout"].agg(["size", "sum"]).reset_index()
            out.append(
                g.rename(columns={"size": "enrolled", "sum": "dropouts"}).assign(
                    stage=stage, variant=variant
                )
            )
    rates = pd.concat(out, ignore_index=True)
    rates["dropout_rate"] = (rates["dropouts"] / rates["enrolled"]).round(8)
    rates["consolidation_rate"] = (
        (1 - rates["dropout_rate"]).round(8).where(rates["stage"].isin(["primary", "junior"]))
    )
    return rates


def _rates_as_text(rates: pd.DataFrame) -> pd.DataFrame:
    out = rates[["school_year", "stage", "variant"]].copy()
    out["enrolled"] = rates["enrolled"].astype(int).astype(str)
    out["dropouts"] = rates["dropouts"].astype(int).astype(str)
    for column in ("dropout_rate", "consolidation_rate"):
        values = pd.to_numeric(rates[column], errors="coerce")
        out[column] = [("" if pd.isna(v) else f"{round(float(v), 8):.8f}") for v in values]
    return out


def test_transitions_equal_the_truth(built):
    truth = _expected_transitions(built)
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth = truth.drop(columns="person_nk")
    mine = built.sql(
        """
        select person_key, term_code, next_term_code, status_in_term, transition
        from marts.fct_enrollment_transition
        """
    )
    compare(truth, mine[truth.columns], ["person_key", "term_code"])


def test_dropout_cohort_equals_the_truth(built):
    truth = _expected_cohort(built)
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth = truth.drop(columns="person_nk")
    mine = built.sql(
        """
        select person_key, school_year, school_code, township, stage,
               grade_number::varchar as grade_number,
               lower(is_hardship::varchar) as is_hardship,
               lower(is_excluded::varchar) as is_excluded,
               lower(is_dropout::varchar) as is_dropout,
               lower(is_partial_year::varchar) as is_partial_year
        from marts.fct_dropout_cohort
        """
    )
    compare(truth, mine[truth.columns], ["person_key", "school_year"])


def test_dropout_rates_equal_the_truth(built):
    keys = ["school_year", "stage", "variant"]
    mine = _rates_as_text(
        built.sql(
            f"select {', '.join(keys)}, enrolled, dropouts, dropout_rate, consolidation_rate "
            "from marts.rpt_dropout_rates"
        )
    )
    expected = _rates_as_text(_rates(_expected_cohort(built)))
    compare(expected, mine, keys)
    # The truth file itself, wherever no unseen death changes the cohort.
    truth = _rates_as_text(built.truth("dropout_rates"))
    touched = _expected_cohort(built).compare(built.truth("dropout_cohort"))
    if touched.empty:
        compare(truth, mine, keys)
    else:
        merged = truth.merge(expected, on=keys, suffixes=("", "_expected"))
        same = merged[merged["dropouts"] == merged["dropouts_expected"]]
        same = same[same["enrolled"] == same["enrolled_expected"]]
        compare(truth.merge(same[keys]), mine.merge(same[keys]), keys)
    # Each published figure names its variant; the default is marked once per group.
    flags = built.sql(
        """
        select variant, bool_and(is_default_variant) as all_default,
               bool_or(is_default_variant) as any_default,
               any_value(consolidation_rate_variant) as consolidation_rate_variant
        from marts.rpt_dropout_rates group by variant
        """
    ).set_index("variant")
    assert bool(flags.loc["default", "all_default"]) and not flags.loc["lianji", "any_default"]
    assert set(flags["consolidation_rate_variant"]) == {"annual"}


def test_out_of_school_children_equal_the_truth(built):
    truth = built.truth("out_of_school_children")
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth = truth.drop(columns="person_nk")
    dispositions = (
        pd.read_csv(SEEDS_DIR / "status_crosswalk.csv")
        .query("source == 'dropout_ledger'")
        .set_index("status_text")["status_code"]
    )
    truth["ledger_disposition"] = truth["ledger_disposition"].map(dispositions).fillna("")
    mine = built.sql(
        """
        select person_key, term_code, township, village, age::varchar as age,
               lower(is_hardship::varchar) as is_hardship,
               coalesce(ledger_disposition, '') as ledger_disposition
        from marts.fct_out_of_school_child
        """
    )
    compare(truth, mine[truth.columns], ["person_key", "term_code"])


def test_open_ledger_cases_equal_the_truth(built):
    truth = built.truth("open_ledger_cases")
    mine = built.sql(
        """
        select term_code, township, coalesce(age::varchar, '') as age,
               open_cases::varchar as open_cases
        from marts.rpt_open_ledger_cases
        """
    )
    compare(truth, mine, ["term_code", "township", "age"])
