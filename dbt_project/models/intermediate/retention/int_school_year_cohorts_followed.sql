-- One row per person 在读 in the autumn 学籍 snapshot of a school year (the
-- cohort that 辍学率 divides by), followed through the year's transitions:
-- autumn → spring, and spring → next autumn where the next autumn's snapshot
-- exists (is_partial_year when it does not).
--   is_excluded: deceased or transferred_out in a transition of the year;
--   is_dropout: dropped_out in a transition of the year.
-- School, township, stage, grade and hardship are as of the autumn term;
-- is_hardship: a member of a listed poverty household at the term, or 残疾 in
-- the 学籍.
with enrollments as (select * from {{ ref('fct_enrollment') }}),

terms as (

    select * from {{ ref('dim_term') }}
    where term_code <> 'unknown'

),

schools as (

    select
        school_key,
        township
    from {{ ref('dim_school') }}

),

{{ import_ctes([
    ('transitions', 'int_enrollment_transitions_classified'),
    ('household_members', 'int_household_members_listed_by_term'),
]) }},

snapshot_terms as (

    select distinct
        enrollments.term_code,
        terms.term_idx
    from enrollments
    inner join terms on enrollments.term_code = terms.term_code

),

school_years as (

    select
        autumn.term_code,
        terms.school_year,
        spring.term_code as spring_term_code,
        next_autumn.term_code is null as is_partial_year
    from snapshot_terms as autumn
    inner join terms on autumn.term_code = terms.term_code
    left join snapshot_terms as spring on autumn.term_idx + 1 = spring.term_idx
    left join snapshot_terms as next_autumn on autumn.term_idx + 2 = next_autumn.term_idx
    where terms.semester = 'autumn'

),

starters as (

    select
        enrollments.person_key,
        enrollments.school_key,
        school_years.school_year,
        school_years.term_code,
        school_years.spring_term_code,
        enrollments.school_code,
        schools.township,
        enrollments.stage,
        enrollments.grade,
        enrollments.grade_number,
        enrollments.is_disabled,
        school_years.is_partial_year
    from enrollments
    inner join school_years on enrollments.term_code = school_years.term_code
    left join schools on enrollments.school_key = schools.school_key
    where enrollments.is_enrolled

),

outcomes as (

    select
        starters.person_key,
        starters.school_year,
        bool_or(transitions.transition in ('deceased', 'transferred_out')) as is_excluded,
        bool_or(transitions.transition = 'dropped_out') as is_dropout
    from starters
    inner join transitions
        on
            starters.person_key = transitions.person_key
            and transitions.term_code in (starters.term_code, starters.spring_term_code)
    group by starters.person_key, starters.school_year

),

final as (

    select
        starters.person_key,
        starters.school_key,
        starters.school_year,
        starters.term_code,
        starters.school_code,
        starters.township,
        starters.stage,
        starters.grade,
        starters.grade_number,
        starters.is_disabled or household_members.person_key is not null as is_hardship,
        coalesce(outcomes.is_excluded, false) as is_excluded,
        coalesce(outcomes.is_dropout, false) as is_dropout,
        starters.is_partial_year
    from starters
    left join outcomes on starters.person_key = outcomes.person_key and starters.school_year = outcomes.school_year
    left join household_members
        on
            starters.person_key = household_members.person_key
            and starters.term_code = household_members.term_code

)

select * from final
