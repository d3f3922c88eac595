-- One row per person and term in the 学籍 snapshot (any status) whose next
-- term also has a 学籍 snapshot, with the person's transition to it
-- (indicators.md "Retention"). The rules, first match wins:
--   1. status 转出 / 毕业 / 死亡 in T stays that;
--   2. deceased when the population register reports a death before the next
--      snapshot, or T+1 lists the person as 死亡;
--   3. listed 在读 in T+1: returned when T was 辍学 or 休学; graduated when T
--      was the spring term of the final grade of a stage; else continued;
--   4. listed in T+1 with another status: that status;
--   5. absent from T+1: graduated from the final grade at the end of spring;
--      transferred_out when the person's latest case in T+1's ledger export
--      says 县外就读已取证; else dropped_out (名在人不在).
with enrollments as (

    select
        *,
        {{ term_index('term_code') }} as term_idx
    from {{ ref('fct_enrollment') }}

),

residents as (select * from {{ ref('int_population_residents_keyed') }}),

ledger_cases as (

    select * from {{ ref('int_ledger_cases_linked_to_persons') }}
    where is_latest_case

),

snapshot_terms as (

    select distinct
        term_code,
        term_idx,
        snapshot_on
    from enrollments

),

term_pairs as (

    select
        this_term.term_code,
        next_term.term_code as next_term_code,
        next_term.snapshot_on as next_snapshot_on,
        this_term.term_code like '%-spring' as is_spring
    from snapshot_terms as this_term
    inner join snapshot_terms as next_term on this_term.term_idx + 1 = next_term.term_idx

),

reported_deaths as (

    select
        person_key,
        snapshot_on,
        died_on
    from residents
    where resident_status = 'deceased'

),

-- a death in any export of the register counts when it is dated before the
-- next snapshot (or, undated, reported by an export no later than it)
deaths_before_next_snapshot as (

    select distinct
        reported_deaths.person_key,
        term_pairs.term_code
    from reported_deaths
    inner join term_pairs
        on coalesce(
            reported_deaths.died_on < term_pairs.next_snapshot_on,
            reported_deaths.snapshot_on <= term_pairs.next_snapshot_on
        )

),

paired as (

    select
        this_enrollment.person_key,
        this_enrollment.term_code,
        term_pairs.next_term_code,
        this_enrollment.enrollment_status as status_in_term,
        next_enrollment.enrollment_status as status_in_next_term,
        ledger_cases.disposition as next_ledger_disposition,
        next_enrollment.person_key is not null as is_listed_in_next_term,
        term_pairs.is_spring and this_enrollment.is_final_grade as is_end_of_stage,
        deaths_before_next_snapshot.person_key is not null as is_reported_dead
    from enrollments as this_enrollment
    inner join term_pairs on this_enrollment.term_code = term_pairs.term_code
    left join enrollments as next_enrollment
        on
            this_enrollment.person_key = next_enrollment.person_key
            and term_pairs.next_term_code = next_enrollment.term_code
    left join ledger_cases
        on
            this_enrollment.person_key = ledger_cases.person_key
            and term_pairs.next_term_code = ledger_cases.term_code
    left join deaths_before_next_snapshot
        on
            this_enrollment.person_key = deaths_before_next_snapshot.person_key
            and this_enrollment.term_code = deaths_before_next_snapshot.term_code

),

classified as (

    select
        *,
        case
            when status_in_term in ('transferred_out', 'graduated', 'deceased')
                then status_in_term
            when is_reported_dead or status_in_next_term = 'deceased'
                then 'deceased'
            when status_in_next_term = 'enrolled' and status_in_term in ('dropped_out', 'suspended')
                then 'returned'
            when status_in_next_term = 'enrolled' and status_in_term = 'enrolled' and is_end_of_stage
                then 'graduated'
            when status_in_next_term = 'enrolled'
                then 'continued'
            -- the other statuses name their transition (休学 → suspended, ...)
            when is_listed_in_next_term
                then status_in_next_term
            when status_in_term = 'enrolled' and is_end_of_stage
                then 'graduated'
            when next_ledger_disposition = 'enrolled_outside_county'
                then 'transferred_out'
            else 'dropped_out'
        end as transition
    from paired

)

select * from classified
