"""The core marts against the generator's truth, for two seeds at county scale.

Each seed: generate a county, ingest it, ``dbt build`` everything, then compare the
persons, the enrollments per term and the household status per term with the
truth (computed by the generator from its clean world, never from its exports),
and check that every payment line of the landing folder is in fct_disbursement.
Person keys are recomputed here with Python's hmac, independently of the UDF.
"""

from __future__ import annotations

import pandas as pd
import pytest
from dbt_helpers import SEEDS_DIR, compare

pytestmark = pytest.mark.slow


def test_persons_equal_the_truth(built):
    truth = built.truth("persons")
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth["id_number_masked"] = [
        f"{i[:6]}********{i[-4:]}" if len(i) == 18 else "" for i in truth["id_number"]
    ]
    for column in ("is_id_valid", "is_in_registry", "is_paid"):
        truth[column] = truth[column].str.lower()
    mine = built.sql(
        """
        select person_key, coalesce(id_number_masked, '') as id_number_masked,
               lower(is_id_valid::varchar) as is_id_valid, coalesce(sex, '') as sex,
               coalesce(birth_on::varchar, '') as birth_on,
               lower(is_in_registry::varchar) as is_in_registry,
               lower(is_paid::varchar) as is_paid
        from marts.dim_student where person_kind <> 'unknown'
        """
    )
    columns = ["person_key", "id_number_masked", "is_id_valid", "sex", "birth_on",
               "is_in_registry", "is_paid"]  # fmt: skip
    compare(truth[columns], mine, ["person_key"])
    # Names (restricted) from the people resolution.
    names = built.sql("select person_nk, person_name as name from intermediate.int_persons_unified")
    compare(truth[["person_nk", "name"]], names, ["person_nk"])


def test_enrollments_per_term_equal_the_truth(built):
    truth = built.truth("enrollments")
    truth["person_key"] = truth["person_nk"].map(built.person_key)
    truth = truth.drop(columns="person_nk").rename(
        columns={"grade_label": "grade", "n_rows": "n_registry_rows"}
    )
    mine = built.sql(
        """
        select person_key, term_code, school_code, stage, grade_number::varchar as grade_number,
               grade, lower(is_boarding::varchar) as is_boarding, enrollment_status,
               n_registry_rows::varchar as n_registry_rows,
               lower(is_disabled::varchar) as is_disabled
        from marts.fct_enrollment
        """
    )
    compare(truth, mine[truth.columns], ["person_key", "term_code"])


def test_household_status_per_term_equals_the_truth(built):
    truth = built.truth("household_status")
    crosswalks = {
        "poverty_status": pd.read_csv(SEEDS_DIR / "status_crosswalk.csv")
        .query("source == 'households'")
        .set_index("status_text")["status_code"],
        "household_attribute": pd.read_csv(
            SEEDS_DIR / "household_attribute_crosswalk.csv"
        ).set_index("attribute_text")["attribute_code"],
    }
    for column, codes in crosswalks.items():
        truth[column] = truth[column].map(codes)
    mine = built.sql(
        """
        select household_id, term_code, strftime(snapshot_on, '%Y-%m') as snapshot_month,
               township, village, poverty_status, household_attribute,
               coalesce(monitoring_type, '') as monitoring_type,
               coalesce(identified_year::varchar, '') as identified_year,
               coalesce(exit_year::varchar, '') as exit_year
        from intermediate.int_household_status_by_term
        """
    )
    compare(truth, mine[truth.columns], ["household_id", "term_code"])


def test_every_payment_line_is_in_fct_disbursement(built):
    truth = built.truth("payment_lines")
    truth["person_key"] = [
        built.person_key(nk or delivered)
        for nk, delivered in zip(truth["person_nk"], truth["id_number_delivered"], strict=True)
    ]
    truth = truth[
        ["source_file", "sheet_name", "row_number", "term_code", "program_code", "person_key",
         "school_code", "amount_yuan", "is_refund", "paid_on"]
    ]  # fmt: skip
    mine = built.sql(
        """
        select source_file, coalesce(source_sheet, '') as sheet_name,
               source_row::varchar as row_number, term_code, program_code, person_key,
               coalesce(school_code, '') as school_code, printf('%.2f', amount_yuan) as amount_yuan,
               lower(is_refund::varchar) as is_refund, coalesce(paid_on::varchar, '') as paid_on
        from marts.fct_disbursement
        """
    )
    compare(truth, mine, ["source_file", "sheet_name", "row_number"])
