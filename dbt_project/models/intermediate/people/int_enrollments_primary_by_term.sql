-- One row per person and term in the term's 学籍 snapshot (any status): the
-- person's primary row. A person listed more than once in one snapshot
-- (重复学籍) keeps the 在读 row first, then the smallest school code;
-- n_registry_rows and n_schools say how many rows and schools the snapshot had.
with enrollment_rows as (

    select * from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_nk is not null

),

ranked as (

    select
        *,
        count(*) over (partition by person_nk, term_code) as n_registry_rows,
        count(distinct school_code) over (partition by person_nk, term_code) as n_schools
    from enrollment_rows
    qualify row_number() over (
        partition by person_nk, term_code
        order by case when is_enrolled then 0 else 1 end asc, school_code asc, source_row asc
    ) = 1

),

final as (

    select
        enrollment_row_key,
        person_nk,
        school_code,
        student_number,
        student_number_kind,
        id_number,
        person_name,
        sex,
        grade,
        stage,
        grade_label,
        enrollment_status,
        hukou_township,
        term_code,
        term_idx,
        grade_number,
        n_registry_rows,
        n_schools,
        has_valid_id,
        is_linked_temporary_number,
        is_boarding,
        is_final_grade,
        is_enrolled,
        is_disabled,
        birth_on,
        snapshot_on,
        source_file,
        source_sheet,
        source_row
    from ranked

)

select * from final
