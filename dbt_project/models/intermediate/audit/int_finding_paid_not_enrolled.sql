-- PAID_NOT_ENROLLED (high): a payment for term T to a student whose 学籍 in
-- T is not 在读 (休学, 辍学, 转出, 毕业, …) or who is not in T's 学籍 at
-- all. University students (university programmes, or a grade only
-- university programmes cover) are never in the 学籍 and are excepted. A
-- death explains not being enrolled: a line that is PAID_AFTER_DEATH is not
-- also PAID_NOT_ENROLLED (indicators.md, overlapping findings). Refund lines
-- are not payments; lines whose ID fails its checksum belong to nobody.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid and not is_refund and not is_university_line

),

paid_after_death_lines as (

    select distinct unnest(disbursement_keys) as disbursement_key
    from {{ ref('int_finding_paid_after_death') }}

),

not_enrolled as (

    select * from payment_lines
    where
        not is_enrolled_in_term
        and disbursement_key not in (select paid_after_death_lines.disbursement_key from paid_after_death_lines)

),

final as (

    select
        'PAID_NOT_ENROLLED' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        case
            when bool_or(is_listed_in_term)
                then '该生' || min(term_label) || '学籍状态为' || coalesce(min(enrollment_status_text), '非在读')
            else '该生不在' || min(term_label) || '学籍中'
        end
        || '，仍发放'
        || string_agg(
            program_name || printf('%.2f', amount_yuan) || '元', '、' order by source_file, source_sheet, source_row
        ) as evidence
    from not_enrolled
    group by term_code, person_nk

)

select * from final
