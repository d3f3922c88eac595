-- One row per person and term: the person is a member of a household listed
-- in the poverty-registry snapshot that decides the term (the latest on or
-- before the term's start; any poverty status). Reads the membership
-- intervals, so a member whose ID cannot be read in that snapshot is not one.
with memberships as (select * from {{ ref('int_household_memberships_intervaled') }}),

term_snapshots as (

    select distinct
        term_code,
        snapshot_on
    from {{ ref('int_household_status_by_term') }}

),

final as (

    select distinct
        memberships.person_key,
        term_snapshots.term_code
    from memberships
    inner join term_snapshots on {{ is_in_force('term_snapshots.snapshot_on', 'memberships') }}

)

select * from final
