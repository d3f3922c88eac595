-- One row per school (学校标识码) in any school-list snapshot, as the latest
-- snapshot lists it, plus the unknown member (university students' payments,
-- codes missing from the school list).
with school_rows as (

    select * from {{ ref('stg_schools__schools') }}
    where school_code is not null

),

latest as (

    select
        *,
        min(snapshot_on) over (partition by school_code) as first_listed_on,
        max(snapshot_on) over (partition by school_code) as last_listed_on
    from school_rows
    qualify row_number() over (partition by school_code order by snapshot_on desc, source_row asc) = 1

),

final as (

    select
        {{ gen_skey(['school_code']) }} as school_key,
        school_code,
        school_name,
        school_type,
        ownership_type,
        township,
        division_code,
        urban_rural_code,
        school_status,
        has_boarding,
        is_closed,
        first_listed_on,
        last_listed_on
    from latest
    union all
    select
        {{ unknown_skey() }} as school_key,
        '-1' as school_code,
        '未知学校' as school_name,
        cast(null as varchar) as school_type,
        cast(null as varchar) as ownership_type,
        cast(null as varchar) as township,
        cast(null as varchar) as division_code,
        cast(null as varchar) as urban_rural_code,
        cast(null as varchar) as school_status,
        cast(null as boolean) as has_boarding,
        false as is_closed,
        cast(null as date) as first_listed_on,
        cast(null as date) as last_listed_on

)

select * from final
