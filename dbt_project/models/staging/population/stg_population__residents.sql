{{ config(post_hook="{{ delete_superseded_deliveries('population') }}") }}

with

{{ newest_delivery_ctes('population') }},

{{ import_ctes([
    ('resident_statuses', 'status_crosswalk', 'population'),
    ('township_aliases', 'township_aliases'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as resident_row_key,
        {{ id_number_columns() }},
        {{ normalize_name('name') }} as person_name,
        {{ normalize_sex('sex') }} as sex,
        {{ normalize_township('township') }} as township_key,
        {{ clean_text('village') }} as village,
        {{ lookup_key('status') }} as resident_status_text,
        {{ parsed(parse_date, 'birth_date', 'birth_on') }},
        {{ parsed(parse_date, 'died_on', 'died_on') }},
        {{ snapshot_columns() }}
    from newest_delivery

),

final as (

    select
        cleaned.resident_row_key,
        cleaned.id_number,
        cleaned.id_number_raw,
        cleaned.person_name,
        cleaned.sex,
        coalesce(township_aliases.township, cleaned.township_key) as township,
        cleaned.village,
        cleaned.resident_status_text,
        resident_statuses.status_code as resident_status,
        cleaned.term_code,
        {{ id_facts('cleaned.id_number', with_sex=true) }},
        cleaned.is_birth_on_parsed,
        cleaned.is_died_on_parsed,
        cleaned.birth_on,
        cleaned.died_on,
        cleaned.snapshot_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join resident_statuses on cleaned.resident_status_text = resident_statuses.status_text
    left join township_aliases on cleaned.township_key = township_aliases.alias

)

select * from final
