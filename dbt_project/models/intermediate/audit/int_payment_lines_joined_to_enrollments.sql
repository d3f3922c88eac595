-- A table, not a view: many models read it (the audit checks, the marts), and each
-- would otherwise recompute it.
{{ config(materialized='table') }}

-- One row per payment line (fct_disbursement), with what every audit check
-- of a payment needs beside it: the person as the line names him or her
-- (person_nk, the normalised ID, and the name on the list), the programme, the
-- term's start, and the person's 学籍 row of the line's term (null when the
-- term's snapshot does not list the person).
--
-- A line is a university student's (is_university_line) when its programme is
-- a university programme, or its grade is of a stage that only university
-- programmes cover (雨露计划 paid to a 高职 student): such students are never
-- in the 学籍.
with disbursements as (select * from {{ ref('fct_disbursement') }}),

payment_lines as (

    select
        payment_line_key,
        id_number,
        person_name
    from {{ ref('stg_disbursements__payment_lines') }}

),

programs as (

    select
        program_code,
        program_name,
        stages as covered_stages,
        is_university
    from {{ ref('aid_programs') }}

),

university_stages as (

    select distinct unnest(string_split(covered_stages, '|')) as university_stage
    from programs
    where is_university

),

terms as (

    select
        term_code,
        term_idx,
        start_on
    from {{ ref('dim_term') }}

),

enrollments as (

    select
        person_key,
        term_code,
        school_code,
        stage,
        grade,
        enrollment_status,
        is_enrolled
    from {{ ref('fct_enrollment') }}

),

status_words as (

    select
        status_code,
        min(status_text) as status_text
    from {{ ref('status_crosswalk') }}
    where source = 'students'
    group by status_code

),

final as (

    select
        disbursements.disbursement_key,
        disbursements.person_key,
        payment_lines.id_number as person_nk,
        disbursements.term_code,
        disbursements.program_code,
        disbursements.school_code,
        enrollments.school_code as enrolled_school_code,
        payment_lines.person_name,
        programs.program_name,
        programs.covered_stages,
        disbursements.stage,
        disbursements.grade,
        enrollments.stage as enrolled_stage,
        enrollments.grade as enrolled_grade,
        enrollments.enrollment_status,
        status_words.status_text as enrollment_status_text,
        disbursements.batch_id,
        disbursements.source_file,
        disbursements.source_sheet,
        {{ term_label_cn('disbursements.term_code') }} as term_label,
        disbursements.source_file
        || coalesce('（' || disbursements.source_sheet || '）', '')
        || ' 第' || cast(disbursements.source_row as varchar) || '行' as source_line,
        terms.term_idx,
        disbursements.amount_yuan,
        disbursements.source_row,
        disbursements.is_id_valid,
        disbursements.is_refund,
        enrollments.person_key is not null as is_listed_in_term,
        coalesce(enrollments.is_enrolled, false) as is_enrolled_in_term,
        -- a line without a grade (年级 is not a required column) is not a university line
        coalesce(programs.is_university, false)
        or coalesce(
            disbursements.stage in (select university_stages.university_stage from university_stages),
            false
        ) as is_university_line,
        disbursements.paid_on,
        terms.start_on as term_start_on
    from disbursements
    inner join payment_lines on disbursements.disbursement_key = payment_lines.payment_line_key
    left join programs on disbursements.program_code = programs.program_code
    left join terms on disbursements.term_code = terms.term_code
    left join enrollments
        on
            disbursements.person_key = enrollments.person_key
            and disbursements.term_code = enrollments.term_code
    left join status_words on enrollments.enrollment_status = status_words.status_code

)

select * from final
