-- One row per household and validity interval (see int_household_status_intervals),
-- plus the unknown member. valid_to_on is exclusive; 9999-12-31 = still valid.
with intervals as (select * from {{ ref('int_household_status_intervals') }}),

final as (

    select
        household_key,
        household_id,
        township,
        village,
        poverty_status,
        household_attribute,
        monitoring_type,
        identified_year,
        exit_year,
        n_snapshots,
        is_current,
        valid_from_on,
        valid_to_on
    from intervals
    union all
    select
        {{ unknown_skey() }} as household_key,
        cast(null as varchar) as household_id,
        cast(null as varchar) as township,
        cast(null as varchar) as village,
        cast(null as varchar) as poverty_status,
        cast(null as varchar) as household_attribute,
        cast(null as varchar) as monitoring_type,
        cast(null as integer) as identified_year,
        cast(null as integer) as exit_year,
        0 as n_snapshots,
        false as is_current,
        cast('1900-01-01' as date) as valid_from_on,
        cast('9999-12-31' as date) as valid_to_on

)

select * from final
