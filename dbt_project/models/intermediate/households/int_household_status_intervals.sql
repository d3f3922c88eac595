{{ config(materialized='table') }}
-- One row per household and validity interval: consecutive poverty-registry
-- snapshots in which the household is listed with the same status,
-- attribute, monitoring type, place and years are one interval.
--
-- valid_from_on: the first snapshot of the interval. valid_to_on (exclusive):
-- the next snapshot in which the household is listed otherwise or not at all;
-- 9999-12-31 while the interval reaches the latest snapshot. Derived from the
-- snapshots alone, so the result does not depend on when dbt ran.
with household_snapshots as (select * from {{ ref('int_household_snapshots_collapsed') }}),

snapshot_sequence as (

    select
        snapshot_on,
        row_number() over (order by snapshot_on) as snapshot_idx
    from (select distinct snapshot_on from household_snapshots) as snapshot_dates

),

stated as (

    select
        household_snapshots.*,
        snapshot_sequence.snapshot_idx,
        {{ gen_skey([
            'township', 'village', 'poverty_status_code', 'household_attribute_code',
            'monitoring_type', 'identified_year', 'exit_year'
        ]) }} as state_hash
    from household_snapshots
    inner join snapshot_sequence on household_snapshots.snapshot_on = snapshot_sequence.snapshot_on

),

islands as (

    select
        *,
        snapshot_idx - row_number() over (
            partition by household_id, state_hash order by snapshot_idx
        ) as island
    from stated

),

intervals as (

    select
        household_id,
        island,
        min(snapshot_idx) as first_snapshot_idx,
        max(snapshot_idx) as last_snapshot_idx,
        any_value(township) as township,
        any_value(village) as village,
        any_value(poverty_status_code) as poverty_status,
        any_value(household_attribute_code) as household_attribute,
        any_value(monitoring_type) as monitoring_type,
        any_value(identified_year) as identified_year,
        any_value(exit_year) as exit_year,
        count(*) as n_snapshots
    from islands
    group by household_id, state_hash, island

),

final as (

    select
        {{ gen_skey(['intervals.household_id', 'first_snapshot.snapshot_on']) }} as household_key,
        intervals.household_id,
        intervals.township,
        intervals.village,
        intervals.poverty_status,
        intervals.household_attribute,
        intervals.monitoring_type,
        intervals.identified_year,
        intervals.exit_year,
        intervals.n_snapshots,
        first_snapshot.snapshot_on as valid_from_on,
        coalesce(next_snapshot.snapshot_on, cast('9999-12-31' as date)) as valid_to_on,
        next_snapshot.snapshot_on is null as is_current
    from intervals
    inner join snapshot_sequence as first_snapshot on intervals.first_snapshot_idx = first_snapshot.snapshot_idx
    left join snapshot_sequence as next_snapshot on intervals.last_snapshot_idx + 1 = next_snapshot.snapshot_idx

)

select * from final
