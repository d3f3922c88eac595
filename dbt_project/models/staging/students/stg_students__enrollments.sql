{{ config(post_hook="{{ delete_superseded_deliveries('students') }}") }}

with

{{ newest_delivery_ctes('students') }},

{{ import_ctes([
    ('grades', 'grade_crosswalk'),
    ('enrollment_statuses', 'status_crosswalk', 'students'),
    ('boarding_modes', 'status_crosswalk', 'students_boarding'),
    ('township_aliases', 'township_aliases'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as enrollment_row_key,
        {{ clean_code('school_code') }} as school_code,
        upper({{ clean_code('student_number') }}) as student_number,
        {{ id_number_columns() }},
        {{ normalize_name('name') }} as person_name,
        {{ normalize_sex('sex') }} as sex,
        {{ clean_text('school_name') }} as school_name,
        {{ lookup_key('grade') }} as grade,
        {{ clean_text('class') }} as class_name,
        {{ lookup_key('boarding') }} as boarding,
        {{ lookup_key('status') }} as enrollment_status_text,
        {{ normalize_township('hukou_township') }} as hukou_township_key,
        {{ parse_yes_no('is_disabled') }} as is_disabled,
        {{ parse_yes_no('is_left_behind') }} as is_left_behind,
        {{ parsed(parse_date, 'birth_date', 'birth_on') }},
        {{ parsed(parse_month, 'enrolled_on', 'enrolled_month_on') }},
        {{ snapshot_columns() }}
    from newest_delivery

),

final as (

    select
        cleaned.enrollment_row_key,
        cleaned.school_code,
        cleaned.student_number,
        -- G: the ID with a G prefix; J: no ID; L: temporary, replaced later by a G number.
        left(cleaned.student_number, 1) as student_number_kind,
        cleaned.id_number,
        cleaned.id_number_raw,
        cleaned.person_name,
        cleaned.sex,
        cleaned.school_name,
        cleaned.grade,
        grades.stage,
        grades.grade_label,
        cleaned.class_name,
        cleaned.boarding,
        cleaned.enrollment_status_text,
        enrollment_statuses.status_code as enrollment_status,
        coalesce(township_aliases.township, cleaned.hukou_township_key) as hukou_township,
        cleaned.term_code,
        grades.grade_number,
        {{ id_facts('cleaned.id_number', with_sex=true) }},
        case boarding_modes.status_code
            when 'boarding' then true
            when 'day' then false
        end as is_boarding,
        coalesce(grades.is_final_grade, false) as is_final_grade,
        enrollment_statuses.status_code = 'enrolled' as is_enrolled,
        cleaned.is_disabled,
        cleaned.is_left_behind,
        cleaned.is_birth_on_parsed,
        cleaned.is_enrolled_month_on_parsed,
        cleaned.birth_on,
        cleaned.enrolled_month_on,
        cleaned.snapshot_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join grades on cleaned.grade = grades.grade_text
    left join enrollment_statuses on cleaned.enrollment_status_text = enrollment_statuses.status_text
    left join boarding_modes on cleaned.boarding = boarding_modes.status_text
    left join township_aliases on cleaned.hukou_township_key = township_aliases.alias

)

select * from final
