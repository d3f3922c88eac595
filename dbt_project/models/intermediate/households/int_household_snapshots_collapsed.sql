-- One row per household and poverty-registry snapshot: the household fields
-- that repeat on every member's row, read from the household head's row (or
-- the first row of the household when no head is listed).
with member_rows as (

    select * from {{ ref('stg_households__members') }}
    where household_id is not null

),

final as (

    select
        household_id,
        township,
        village,
        poverty_status,
        poverty_status_code,
        household_attribute,
        household_attribute_code,
        monitoring_type,
        identified_year,
        exit_year,
        snapshot_on,
        source_file,
        source_row
    from member_rows
    qualify row_number() over (
        partition by household_id, snapshot_on
        order by case when relation = '户主' then 0 else 1 end, source_sheet, source_row
    ) = 1

)

select * from final
