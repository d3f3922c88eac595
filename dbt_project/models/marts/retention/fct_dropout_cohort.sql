-- One row per person 在读 at the start (autumn snapshot) of a school year;
-- the rules are in int_school_year_cohorts_followed.
with cohorts as (select * from {{ ref('int_school_year_cohorts_followed') }}),

final as (

    select
        {{ gen_skey(['person_key', 'school_year']) }} as dropout_cohort_key,
        person_key,
        school_key,
        school_year,
        term_code,
        school_code,
        township,
        stage,
        grade,
        grade_number,
        is_hardship,
        is_excluded,
        is_dropout,
        is_partial_year
    from cohorts

)

select * from final
