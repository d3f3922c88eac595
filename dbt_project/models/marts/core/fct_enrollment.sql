-- One row per person and term in the term's 学籍 snapshot (any status).
-- A person listed more than once in one snapshot (重复学籍) keeps one row:
-- the 在读 row first, then the smallest school code; n_registry_rows says
-- how many rows the snapshot had (DUPLICATE_ENROLLMENT reads it).
with

enrollment_rows as (

    select * from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_nk is not null

),

schools as (

    select school_key, school_code from {{ ref('dim_school') }}

),

ranked as (

    select
        *,
        count(*) over (partition by person_nk, term_code) as n_registry_rows,
        count(distinct school_code) over (partition by person_nk, term_code) as n_schools
    from enrollment_rows
    qualify row_number() over (
        partition by person_nk, term_code
        order by case when is_enrolled then 0 else 1 end, school_code, source_row
    ) = 1

),

final as (

    select
        {{ gen_skey(['ranked.person_nk', 'ranked.term_code']) }} as enrollment_key,
        {{ person_key('ranked.person_nk') }} as person_key,
        coalesce(schools.school_key, {{ unknown_skey() }}) as school_key,
        ranked.term_code,
        ranked.school_code,
        ranked.stage,
        ranked.grade_label as grade,
        ranked.enrollment_status,
        ranked.student_number_kind,
        ranked.hukou_township,
        ranked.source_file,
        ranked.source_sheet,
        ranked.grade_number,
        ranked.n_registry_rows,
        ranked.n_schools,
        ranked.source_row,
        ranked.is_boarding,
        ranked.is_enrolled,
        ranked.is_final_grade,
        coalesce(ranked.is_disabled, false) as is_disabled,
        ranked.is_linked_temporary_number,
        ranked.snapshot_on
    from ranked
    left join schools
        on ranked.school_code = schools.school_code

)

select * from final
