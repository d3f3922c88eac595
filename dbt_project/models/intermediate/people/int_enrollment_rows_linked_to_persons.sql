-- A table, not a view: many models read it (the audit checks, the marts), and each
-- would otherwise recompute it.
{{ config(materialized='table') }}

-- Each 学籍 row of the newest delivery of its month, with the person it belongs to.
--
-- person_nk, in order: the row's valid ID number; the ID inside a G student
-- number (G + 18-digit ID) when the ID cell is empty or invalid; for an L
-- (temporary) number, the ID of the G student it is linked to (same name,
-- birth date and school, in a later term, one candidate only); otherwise the
-- J or L student number itself. A row with none of these has no person.
with enrollment_rows as (select * from {{ ref('stg_students__enrollments') }}),

identified as (

    select
        *,
        case
            when is_id_valid then id_number
            when
                student_number_kind = 'G'
                and {{ is_valid_id('substr(student_number, 2)') }}
                then substr(student_number, 2)
        end as id_person_nk,
        coalesce(
            birth_on,
            birth_on_from_id,
            case
                when student_number_kind = 'L'
                    then {{ parse_date('substr(student_number, 8, 8)') }}
            end
        ) as resolved_birth_on,
        {{ term_index('term_code') }} as term_idx
    from enrollment_rows

),

temporary_rows as (

    select distinct
        student_number,
        person_name,
        resolved_birth_on,
        school_code,
        term_idx
    from identified
    where student_number_kind = 'L' and id_person_nk is null

),

identified_rows as (

    select distinct
        id_person_nk,
        person_name,
        resolved_birth_on,
        school_code,
        term_idx
    from identified
    where id_person_nk is not null

),

-- An L number is linked when exactly one ID person with the same name, birth
-- date and school appears in a later term.
links as (

    select
        temporary_rows.student_number,
        min(identified_rows.id_person_nk) as id_person_nk
    from temporary_rows
    inner join identified_rows
        on
            temporary_rows.person_name = identified_rows.person_name
            and temporary_rows.resolved_birth_on = identified_rows.resolved_birth_on
            and temporary_rows.school_code = identified_rows.school_code
            and temporary_rows.term_idx < identified_rows.term_idx
    group by temporary_rows.student_number
    having count(distinct identified_rows.id_person_nk) = 1

),

final as (

    select
        identified.enrollment_row_key,
        coalesce(
            identified.id_person_nk,
            links.id_person_nk,
            case when identified.student_number_kind in ('J', 'L') then identified.student_number end
        ) as person_nk,
        identified.school_code,
        identified.student_number,
        identified.student_number_kind,
        identified.id_number,
        identified.person_name,
        coalesce(identified.sex_from_id, identified.sex) as sex,
        identified.grade,
        identified.stage,
        identified.grade_label,
        identified.enrollment_status,
        identified.hukou_township,
        identified.term_code,
        identified.term_idx,
        identified.grade_number,
        identified.id_person_nk is not null as has_valid_id,
        links.id_person_nk is not null as is_linked_temporary_number,
        identified.is_boarding,
        identified.is_final_grade,
        identified.is_enrolled,
        identified.is_disabled,
        identified.resolved_birth_on as birth_on,
        identified.snapshot_on,
        identified.source_file,
        identified.source_sheet,
        identified.source_row
    from identified
    left join links on identified.student_number = links.student_number

)

select * from final
