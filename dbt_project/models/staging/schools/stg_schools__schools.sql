{{ config(post_hook="{{ delete_superseded_deliveries('schools') }}") }}

with

{{ newest_delivery_ctes('schools') }},

{{ import_ctes([
    ('school_statuses', 'status_crosswalk', 'schools'),
    ('township_aliases', 'township_aliases'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as school_row_key,
        {{ clean_code('school_code') }} as school_code,
        {{ clean_code('division_code') }} as division_code,
        {{ clean_text('school_name') }} as school_name,
        {{ lookup_key('school_type') }} as school_type,
        {{ lookup_key('ownership') }} as ownership_type,
        {{ normalize_township('township') }} as township_key,
        {{ clean_code('urban_rural') }} as urban_rural_code,
        {{ lookup_key('status') }} as school_status_text,
        {{ parse_yes_no('has_boarding') }} as has_boarding,
        {{ snapshot_columns() }}
    from newest_delivery

),

final as (

    select
        cleaned.school_row_key,
        cleaned.school_code,
        cleaned.division_code,
        cleaned.school_name,
        cleaned.school_type,
        cleaned.ownership_type,
        coalesce(township_aliases.township, cleaned.township_key) as township,
        cleaned.urban_rural_code,
        cleaned.school_status_text,
        -- An empty status cell means the school is open.
        coalesce(school_statuses.status_code, case when cleaned.school_status_text is null then 'open' end)
            as school_status,
        cleaned.term_code,
        cleaned.has_boarding,
        coalesce(school_statuses.status_code in ('merged', 'closed'), false) as is_closed,
        cleaned.snapshot_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join school_statuses on cleaned.school_status_text = school_statuses.status_text
    left join township_aliases on cleaned.township_key = township_aliases.alias

)

select * from final
