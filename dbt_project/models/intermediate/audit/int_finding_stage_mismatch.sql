-- STAGE_MISMATCH (high): a payment of a programme whose stages (seed
-- aid_programs.stages) do not include the student's stage in the term's 学籍
-- (e.g. 普通高中国家助学金 to a 初中 student). Only students the term's 学籍
-- lists have a stage in the term; the others are PAID_NOT_ENROLLED. University
-- students are never in the 学籍 and are excepted (a first-year student may
-- still be listed 毕业 at the school he or she left). Refund lines are not
-- payments; lines whose ID fails its checksum belong to nobody.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid and not is_refund and not is_university_line and is_listed_in_term

),

mismatched as (

    select * from payment_lines
    where not list_contains(string_split(covered_stages, '|'), enrolled_stage)

),

final as (

    select
        'STAGE_MISMATCH' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        '该生' || min(term_label) || '学籍为' || min(enrolled_grade) || '，却发放'
        || string_agg(
            program_name || printf('%.2f', amount_yuan) || '元', '、' order by source_file, source_sheet, source_row
        ) || '，该项目不资助这一学段' as evidence
    from mismatched
    group by term_code, person_nk

)

select * from final
