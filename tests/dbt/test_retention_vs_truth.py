"""The retention marts against the generator's truth, for two seeds at county scale.

Transitions, the dropout cohort, the dropout rates (both variants), the out-of-school
children and the open ledger cases must equal the truth exactly. Person keys are
recomputed here with Python's hmac, independently of the UDF.
"""

from __future__ import annotations

import pandas as pd
import pytest
from dbt_helpers import SEEDS_DIR, compare

pytestmark = pytest.mark.slow


def _rates(cohort: pd.DataFrame) -> pd.DataFrame:
    """The truth's dropout_rates formulas (truth/README.md) over a cohort."""
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
    truth = built.truth("transitions")
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
    truth = built.truth("dropout_cohort")
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
    if built.counties() == 1:  # the truth's rates are per county; the marts' of them all
        compare(_rates_as_text(built.truth("dropout_rates")), mine, keys)
    # The truth's rates follow from its own cohort by the README's formulas.
    compare(_rates_as_text(_rates(built.truth("dropout_cohort"))), mine, keys)
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
    keys = ["term_code", "township", "age"]
    if built.counties() > 1:  # the truth counts per county; the marts count every county's
        truth["open_cases"] = truth["open_cases"].astype(int)
        truth = truth.groupby(keys, as_index=False)["open_cases"].sum().astype(str)
    mine = built.sql(
        """
        select term_code, township, coalesce(age::varchar, '') as age,
               open_cases::varchar as open_cases
        from marts.rpt_open_ledger_cases
        """
    )
    compare(truth, mine, keys)
