-- One row per household and term: the household as the poverty registry
-- lists it at the snapshot that decides the term, the latest on or before the
-- term's start (the earliest after it when there is none before).
with

{{ import_ctes([
    ('terms', 'int_terms_spanned'),
    ('household_intervals', 'int_household_status_intervals'),
]) }},

snapshots as (

    select distinct snapshot_on from {{ ref('int_household_snapshots_collapsed') }}

),

term_snapshots as (

    select
        terms.term_code,
        terms.start_on,
        coalesce(
            max(snapshots.snapshot_on) filter (where snapshots.snapshot_on <= terms.start_on),
            min(snapshots.snapshot_on)
        ) as snapshot_on
    from terms
    cross join snapshots
    group by terms.term_code, terms.start_on

),

final as (

    select
        household_intervals.household_key,
        household_intervals.household_id,
        term_snapshots.term_code,
        household_intervals.township,
        household_intervals.village,
        household_intervals.poverty_status,
        household_intervals.household_attribute,
        household_intervals.monitoring_type,
        household_intervals.identified_year,
        household_intervals.exit_year,
        term_snapshots.snapshot_on
    from term_snapshots
    inner join household_intervals on {{ is_in_force('term_snapshots.snapshot_on', 'household_intervals') }}

)

select * from final
