{{ config(post_hook="{{ delete_superseded_deliveries('households') }}") }}

with

{{ newest_delivery_ctes('households') }},

{{ import_ctes([
    ('poverty_statuses', 'status_crosswalk', 'households'),
    ('household_attributes', 'household_attribute_crosswalk'),
    ('hardship_types', 'hardship_type_crosswalk'),
    ('in_school_statuses', 'in_school_status_crosswalk'),
    ('township_aliases', 'township_aliases'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as household_member_row_key,
        {{ clean_code('household_id') }} as household_id,
        {{ id_number_columns() }},
        {{ normalize_name('name') }} as person_name,
        {{ normalize_sex('sex') }} as sex,
        {{ clean_text('county') }} as county,
        {{ normalize_township('township') }} as township_key,
        {{ clean_text('village') }} as village,
        {{ lookup_key('relation') }} as relation,
        {{ lookup_key('in_school_status') }} as in_school_status,
        {{ lookup_key('health') }} as health,
        {{ lookup_key('household_attribute') }} as household_attribute,
        {{ lookup_key('poverty_status') }} as poverty_status,
        {{ lookup_key('monitoring_type') }} as monitoring_type,
        {{ safe_cast(regex_extract(lookup_key('identified_year'), '^([0-9]{4})'), 'integer') }} as identified_year,
        {{ safe_cast(regex_extract(lookup_key('exit_year'), '^([0-9]{4})'), 'integer') }} as exit_year,
        {{ snapshot_columns() }}
    from newest_delivery

),

final as (

    select
        cleaned.household_member_row_key,
        cleaned.household_id,
        cleaned.id_number,
        cleaned.id_number_raw,
        cleaned.person_name,
        cleaned.sex,
        cleaned.county,
        coalesce(township_aliases.township, cleaned.township_key) as township,
        cleaned.village,
        cleaned.relation,
        cleaned.in_school_status,
        in_school_statuses.stage as in_school_stage,
        cleaned.health,
        cleaned.household_attribute,
        household_attributes.attribute_code as household_attribute_code,
        cleaned.poverty_status,
        poverty_statuses.status_code as poverty_status_code,
        cleaned.monitoring_type,
        cleaned.term_code,
        cleaned.identified_year,
        cleaned.exit_year,
        {{ id_facts('cleaned.id_number', with_sex=true) }},
        in_school_statuses.stage is not null as is_in_school,
        -- 健康状况 残疾 is the disability hardship category.
        coalesce(health_hardship_types.hardship_type_code = 'disabled', false) as is_disabled,
        cleaned.monitoring_type is not null as is_monitored,
        cleaned.snapshot_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join township_aliases on cleaned.township_key = township_aliases.alias
    left join in_school_statuses on cleaned.in_school_status = in_school_statuses.in_school_text
    left join household_attributes on cleaned.household_attribute = household_attributes.attribute_text
    left join poverty_statuses on cleaned.poverty_status = poverty_statuses.status_text
    left join hardship_types as health_hardship_types on cleaned.health = health_hardship_types.hardship_text

)

select * from final
