{{ config(post_hook="{{ delete_superseded_deliveries('dropout_ledger') }}") }}

with

{{ newest_delivery_ctes('dropout_ledger') }},

{{ import_ctes([
    ('dispositions', 'status_crosswalk', 'dropout_ledger'),
    ('case_types', 'status_crosswalk', 'dropout_ledger_case_type'),
    ('township_aliases', 'township_aliases'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as case_row_key,
        {{ id_number_columns() }},
        {{ clean_code('school_code') }} as school_code,
        {{ normalize_name('name') }} as person_name,
        {{ normalize_township('township') }} as township_key,
        {{ lookup_key('case_type') }} as case_type_text,
        {{ lookup_key('disposition') }} as disposition_text,
        {{ parsed(parse_date, 'recorded_on', 'recorded_on') }},
        {{ parsed(parse_date, 'closed_on', 'closed_on') }},
        {{ snapshot_columns() }}
    from newest_delivery

),

final as (

    select
        cleaned.case_row_key,
        cleaned.id_number,
        cleaned.id_number_raw,
        cleaned.school_code,
        cleaned.person_name,
        coalesce(township_aliases.township, cleaned.township_key) as township,
        cleaned.case_type_text,
        case_types.status_code as case_type,
        cleaned.disposition_text,
        dispositions.status_code as disposition,
        cleaned.term_code,
        {{ id_facts('cleaned.id_number') }},
        -- Open until 销号 (closed_on); an unreadable closed_on leaves the case open.
        cleaned.closed_on is null as is_open,
        cleaned.is_recorded_on_parsed,
        cleaned.is_closed_on_parsed,
        cleaned.recorded_on,
        cleaned.closed_on,
        cleaned.snapshot_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join dispositions on cleaned.disposition_text = dispositions.status_text
    left join case_types on cleaned.case_type_text = case_types.status_text
    left join township_aliases on cleaned.township_key = township_aliases.alias

)

select * from final
