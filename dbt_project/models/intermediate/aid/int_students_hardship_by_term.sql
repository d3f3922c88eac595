-- One row per person and term in which a registry confirms the person as a
-- hardship student (indicators.md, "Eligibility in a term"): at the
-- poverty-registry snapshot that decides the term, a member of a household
-- that is 未脱贫 or 返贫, or 已脱贫 up to the end of the transition period
-- (var poverty_transition_end_term, 脱贫不脱政策), or a 监测对象 household; or
-- 残疾 in the term's 学籍. A category only declared on a payment list is not a
-- confirmation.
with

{{ import_ctes([
    ('household_terms', 'int_household_status_by_term'),
    ('memberships', 'int_household_memberships_intervaled'),
    ('enrollments', 'int_enrollments_primary_by_term'),
]) }},

qualifying_households as (

    select
        *,
        case
            when monitoring_type is not null then 'monitored'
            when poverty_status = 'exited' then 'exited'
            else 'registered'
        end as household_category
    from household_terms
    where
        poverty_status in ('not_exited', 'returned_to_poverty')
        or monitoring_type is not null
        or (
            poverty_status = 'exited'
            and {{ term_index('term_code') }} <= {{ term_index("'" ~ var('poverty_transition_end_term') ~ "'") }}
        )

),

household_members as (

    select
        memberships.person_nk,
        qualifying_households.term_code,
        qualifying_households.household_id,
        qualifying_households.household_attribute,
        qualifying_households.household_category
    from qualifying_households
    inner join memberships
        on
            qualifying_households.household_id = memberships.household_id
            and {{ is_in_force('qualifying_households.snapshot_on', 'memberships') }}
    -- a person listed in two households counts once, in the most protected
    qualify row_number() over (
        partition by memberships.person_nk, qualifying_households.term_code
        order by
            case qualifying_households.household_category
                when 'monitored' then 1 when 'registered' then 2 else 3
            end asc,
            qualifying_households.household_id asc
    ) = 1

),

disabled_students as (

    select
        person_nk,
        term_code
    from enrollments
    where is_disabled

),

final as (

    select
        coalesce(household_members.person_nk, disabled_students.person_nk) as person_nk,
        coalesce(household_members.term_code, disabled_students.term_code) as term_code,
        household_members.household_id,
        household_members.household_attribute,
        -- The one category a student is reported under: 监测户, 脱贫户 (exited),
        -- 建档立卡 (not exited or returned), or 残疾 outside the poverty registry.
        case household_members.household_category
            when 'monitored' then '监测户'
            when 'exited' then '脱贫户'
            when 'registered' then '建档立卡'
            else '残疾'
        end as hardship_category,
        household_members.person_nk is not null as is_household_member,
        disabled_students.person_nk is not null as is_disabled
    from household_members
    full outer join disabled_students
        on
            household_members.person_nk = disabled_students.person_nk
            and household_members.term_code = disabled_students.term_code

)

select * from final
