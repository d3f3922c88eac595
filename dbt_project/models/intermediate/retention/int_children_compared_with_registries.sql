{%- set accounted_dispositions = ['enrolled_outside_county', 'home_schooled', 'deferred', 'suspended'] -%}
-- 四查三比对 (indicators.md "Dropout control"): one row per child of
-- compulsory age in a term's population-register export, compared with the
-- 学籍 and the dropout-control ledger of the same term.
--   of compulsory age: status 正常, aged var compulsory_age_min to
--     compulsory_age_max on 1 September of the school year;
--   is_enrolled: 在读 in the term's 学籍;
--   ledger_disposition: of the child's latest case in the term's ledger export;
--   is_accounted: enrolled, or that case says 县外就读已取证, 送教上门,
--     延缓入学 or 休学; the others are out-of-school children;
--   is_hardship: a member of a listed poverty household at the term.
with residents as (

    select * from {{ ref('int_population_residents_keyed') }}
    where resident_status = 'normal'

),

terms as (

    select * from {{ ref('dim_term') }}
    where term_code <> 'unknown'

),

enrollments as (

    select * from {{ ref('fct_enrollment') }}
    where is_enrolled

),

ledger_cases as (

    select * from {{ ref('int_ledger_cases_linked_to_persons') }}
    where is_latest_case

),

household_members as (select * from {{ ref('int_household_members_listed_by_term') }}),

aged as (

    select
        residents.*,
        {{ age_at_school_year_start('residents.birth_on', 'terms.school_year') }} as age
    from residents
    inner join terms on residents.term_code = terms.term_code

),

compulsory_age as (

    select * from aged
    where age between {{ var('compulsory_age_min') }} and {{ var('compulsory_age_max') }}

),

compared as (

    select
        compulsory_age.person_key,
        compulsory_age.term_code,
        compulsory_age.township,
        compulsory_age.village,
        ledger_cases.disposition as ledger_disposition,
        compulsory_age.age,
        enrollments.person_key is not null as is_enrolled,
        coalesce(
            ledger_cases.disposition in ('{{ accounted_dispositions | join("', '") }}'), false
        ) as is_accounted_by_ledger,
        household_members.person_key is not null as is_hardship
    from compulsory_age
    left join enrollments
        on
            compulsory_age.person_key = enrollments.person_key
            and compulsory_age.term_code = enrollments.term_code
    left join ledger_cases
        on
            compulsory_age.person_key = ledger_cases.person_key
            and compulsory_age.term_code = ledger_cases.term_code
    left join household_members
        on
            compulsory_age.person_key = household_members.person_key
            and compulsory_age.term_code = household_members.term_code

),

final as (

    select
        *,
        is_enrolled or is_accounted_by_ledger as is_accounted
    from compared

)

select * from final
