-- INELIGIBLE_RECIPIENT (high): a payment of a programme restricted to
-- hardship students (aid_programs.is_hardship_only) to a person whom no
-- registry confirms as a hardship student in the term (int_students_hardship_by_term:
-- a qualifying household's member, or 残疾 in the term's 学籍). A category
-- only declared on the payment list (低保, 一般困难) is not a confirmation.
-- Refund lines are not payments; lines whose ID fails its checksum belong to
-- nobody. One row per person and term.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid and not is_refund

),

restricted_programs as (

    select program_code from {{ ref('aid_programs') }}
    where is_hardship_only

),

hardship as (

    select
        person_nk,
        term_code
    from {{ ref('int_students_hardship_by_term') }}

),

declared as (

    select
        payment_line_key,
        hardship_type
    from {{ ref('stg_disbursements__payment_lines') }}

),

unconfirmed as (

    select
        payment_lines.*,
        declared.hardship_type as declared_hardship_type
    from payment_lines
    inner join restricted_programs on payment_lines.program_code = restricted_programs.program_code
    left join hardship
        on
            payment_lines.person_nk = hardship.person_nk
            and payment_lines.term_code = hardship.term_code
    left join declared on payment_lines.disbursement_key = declared.payment_line_key
    where hardship.person_nk is null

),

final as (

    select
        'INELIGIBLE_RECIPIENT' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        min(term_label) || '向该生发放'
        || string_agg(
            program_name || printf('%.2f', amount_yuan) || '元（名单填报困难类型：'
            || coalesce(declared_hardship_type, '空') || '）',
            '；' order by source_file, source_sheet, source_row
        )
        || '，但建档立卡、监测对象及学籍残疾信息均未确认其为家庭经济困难学生' as evidence
    from unconfirmed
    group by term_code, person_nk

)

select * from final
