-- One row per entitled person × term × entitlement programme: enrolled (在读)
-- in the term's 学籍, a hardship student in the term, and covered by the
-- programme's rule in force for the term (seed aid_entitlement_rules: stage,
-- boarding, highest grade, household members only), with the standard amount
-- in force (seed aid_standards).
with enrollments as (

    select * from {{ ref('int_enrollments_primary_by_term') }}
    where is_enrolled

),

hardship as (select * from {{ ref('int_students_hardship_by_term') }}),

programs as (

    select * from {{ ref('aid_programs') }}
    where is_entitlement

),

rules as (

    select
        *,
        {{ term_index('valid_from_term') }} as valid_from_term_idx,
        coalesce(
            lead({{ term_index('valid_from_term') }}) over (
                partition by program_code, stage order by {{ term_index('valid_from_term') }}
            ),
            99999
        ) as valid_to_term_idx
    from {{ ref('aid_entitlement_rules') }}

),

standards as (

    select * from {{ ref('dim_aid_standard') }}
    where variant = ''

),

eligible as (

    select
        enrollments.person_nk,
        enrollments.term_code,
        enrollments.term_idx,
        enrollments.school_code,
        enrollments.stage,
        enrollments.grade_number,
        enrollments.is_boarding,
        hardship.hardship_category,
        hardship.is_household_member
    from enrollments
    inner join hardship on enrollments.person_nk = hardship.person_nk and enrollments.term_code = hardship.term_code

),

final as (

    select
        eligible.person_nk,
        eligible.term_code,
        rules.program_code,
        eligible.school_code,
        eligible.stage,
        eligible.hardship_category,
        eligible.grade_number,
        standards.amount_yuan as standard_yuan,
        eligible.is_boarding,
        eligible.is_household_member
    from eligible
    inner join rules
        on
            eligible.stage = rules.stage
            and {{ is_in_force('eligible.term_idx', 'rules', 'term_idx') }}
    inner join programs on rules.program_code = programs.program_code
    left join standards
        on
            rules.program_code = standards.program_code
            and eligible.stage = standards.stage
            and {{ is_in_force('eligible.term_idx', 'standards', 'term_idx') }}
    where
        (
            rules.boarding_rule = 'any'
            or (rules.boarding_rule = 'boarding' and eligible.is_boarding)
            or (rules.boarding_rule = 'day' and not eligible.is_boarding)
        )
        and (rules.max_grade_number is null or eligible.grade_number <= rules.max_grade_number)
        and (not rules.requires_registered_household or eligible.is_household_member)

)

select * from final
