{{ config(materialized='table') }}
-- One row per person, household and validity interval of membership:
-- consecutive poverty-registry snapshots that list the person (by a readable,
-- valid ID) in the household. valid_to_on is exclusive, 9999-12-31 while the
-- membership reaches the latest snapshot. A member whose ID cannot be read in
-- a snapshot (Excel-mangled, checksum wrong) is not a member of it by ID.
with member_rows as (

    select * from {{ ref('stg_households__members') }}
    where household_id is not null and is_id_valid

),

snapshot_sequence as (

    select
        snapshot_on,
        row_number() over (order by snapshot_on) as snapshot_idx
    from (select distinct snapshot_on from {{ ref('stg_households__members') }}) as snapshot_dates

),

memberships as (

    select
        member_rows.id_number as person_nk,
        member_rows.household_id,
        member_rows.relation,
        member_rows.is_disabled,
        member_rows.in_school_stage,
        snapshot_sequence.snapshot_idx
    from member_rows
    inner join snapshot_sequence on member_rows.snapshot_on = snapshot_sequence.snapshot_on
    -- a person listed twice in one household and snapshot counts once
    qualify row_number() over (
        partition by member_rows.id_number, member_rows.household_id, member_rows.snapshot_on
        order by member_rows.source_row
    ) = 1

),

islands as (

    select
        *,
        snapshot_idx - row_number() over (
            partition by person_nk, household_id order by snapshot_idx
        ) as island
    from memberships

),

intervals as (

    select
        person_nk,
        household_id,
        min(snapshot_idx) as first_snapshot_idx,
        max(snapshot_idx) as last_snapshot_idx,
        arg_max(relation, snapshot_idx) as relation,
        bool_or(is_disabled) as is_disabled,
        count(*) as n_snapshots
    from islands
    group by person_nk, household_id, island

),

final as (

    select
        intervals.person_nk,
        {{ person_key('intervals.person_nk') }} as person_key,
        intervals.household_id,
        intervals.relation,
        intervals.n_snapshots,
        intervals.is_disabled,
        first_snapshot.snapshot_on as valid_from_on,
        coalesce(next_snapshot.snapshot_on, cast('9999-12-31' as date)) as valid_to_on
    from intervals
    inner join snapshot_sequence as first_snapshot on intervals.first_snapshot_idx = first_snapshot.snapshot_idx
    left join snapshot_sequence as next_snapshot on intervals.last_snapshot_idx + 1 = next_snapshot.snapshot_idx

)

select * from final
