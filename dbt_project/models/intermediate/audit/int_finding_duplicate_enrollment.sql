-- DUPLICATE_ENROLLMENT (medium, 重复学籍): one person listed 在读 at two or
-- more schools in one term's 学籍 snapshot (the newest delivery of the
-- month). school_code is the school fct_enrollment keeps (the smallest
-- code); source_lines are the 学籍 rows. No payment line is involved.
with enrollment_rows as (

    select * from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_nk is not null and is_enrolled

),

schools as (

    select
        school_code,
        school_name
    from {{ ref('dim_school') }}

),

duplicated as (

    select
        person_nk,
        term_code
    from enrollment_rows
    group by person_nk, term_code
    having count(distinct school_code) > 1

),

duplicate_rows as (

    select
        enrollment_rows.*,
        coalesce(schools.school_name, enrollment_rows.school_code) as school_label,
        {{ term_label_cn('enrollment_rows.term_code') }} as term_label,
        enrollment_rows.source_file
        || coalesce('（' || enrollment_rows.source_sheet || '）', '')
        || ' 第' || cast(enrollment_rows.source_row as varchar) || '行' as source_line
    from enrollment_rows
    inner join duplicated
        on
            enrollment_rows.person_nk = duplicated.person_nk
            and enrollment_rows.term_code = duplicated.term_code
    left join schools on enrollment_rows.school_code = schools.school_code

),

schools_listed as (

    select distinct
        person_nk,
        term_code,
        school_code,
        school_label
    from duplicate_rows

),

schools_described as (

    select
        person_nk,
        term_code,
        string_agg(school_label || '（' || school_code || '）', '、' order by school_code) as school_list,
        count(*) as n_schools
    from schools_listed
    group by person_nk, term_code

),

final as (

    select
        'DUPLICATE_ENROLLMENT' as finding_type,
        duplicate_rows.term_code,
        duplicate_rows.person_nk,
        cast(null as varchar) as program_code,
        min(duplicate_rows.school_code) as school_code,
        cast(null as decimal(12, 2)) as amount_yuan,
        cast([] as varchar[]) as disbursement_keys,
        string_agg(
            duplicate_rows.source_line, '；'
            order by duplicate_rows.source_file, duplicate_rows.source_sheet, duplicate_rows.source_row
        ) as source_lines,
        '该生' || min(duplicate_rows.term_label) || '学籍同时在' || min(schools_described.school_list)
        || cast(min(schools_described.n_schools) as varchar) || '所学校在读（重复学籍）' as evidence
    from duplicate_rows
    inner join schools_described
        on
            duplicate_rows.person_nk = schools_described.person_nk
            and duplicate_rows.term_code = schools_described.term_code
    group by duplicate_rows.term_code, duplicate_rows.person_nk

)

select * from final
