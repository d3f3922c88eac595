-- One row per person and term in the term's 学籍 snapshot (any status), the
-- person's primary row (see int_enrollments_primary_by_term), pseudonymous.
with enrollments as (select * from {{ ref('int_enrollments_primary_by_term') }}),

schools as (

    select
        school_key,
        school_code
    from {{ ref('dim_school') }}

),

final as (

    select
        {{ gen_skey(['enrollments.person_nk', 'enrollments.term_code']) }} as enrollment_key,
        {{ person_key('enrollments.person_nk') }} as person_key,
        coalesce(schools.school_key, {{ unknown_skey() }}) as school_key,
        enrollments.term_code,
        enrollments.school_code,
        enrollments.stage,
        enrollments.grade_label as grade,
        enrollments.enrollment_status,
        enrollments.student_number_kind,
        enrollments.hukou_township,
        enrollments.source_file,
        enrollments.source_sheet,
        enrollments.grade_number,
        enrollments.n_registry_rows,
        enrollments.n_schools,
        enrollments.source_row,
        enrollments.is_boarding,
        enrollments.is_enrolled,
        enrollments.is_final_grade,
        coalesce(enrollments.is_disabled, false) as is_disabled,
        enrollments.is_linked_temporary_number,
        enrollments.snapshot_on
    from enrollments
    left join schools on enrollments.school_code = schools.school_code

)

select * from final
