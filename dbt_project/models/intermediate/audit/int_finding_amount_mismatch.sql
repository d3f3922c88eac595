-- AMOUNT_MISMATCH (medium): a payment whose amount differs from the standard
-- (dim_aid_standard) for its programme, stage and term. The stage is the
-- payment line's grade (the 学籍's in the term when the line's grade cannot
-- be read). A standard with variants (高校新生入学资助 in or out of the
-- province, undergraduate or postgraduate loans) is met by any variant; a cap
-- (loans) is met by any positive amount up to it. Terms and stages without a
-- standard are not checked. Refunds are excepted: a negative line of a
-- person, programme and term that has a payment at least as large. Lines
-- whose ID fails its checksum belong to nobody.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid

),

standards as (select * from {{ ref('dim_aid_standard') }}),

refunds_of_payments as (

    select refunds.disbursement_key
    from payment_lines as refunds
    inner join payment_lines as payments
        on
            refunds.person_nk = payments.person_nk
            and refunds.term_code = payments.term_code
            and refunds.program_code = payments.program_code
            and payments.amount_yuan >= -refunds.amount_yuan
    where refunds.is_refund and not payments.is_refund

),

checked as (

    select
        payment_lines.disbursement_key,
        count(standards.aid_standard_key) as n_standards,
        bool_or(
            case
                when standards.is_cap
                    then payment_lines.amount_yuan > 0 and payment_lines.amount_yuan <= standards.amount_yuan
                else payment_lines.amount_yuan = standards.amount_yuan
            end
        ) as is_standard_amount,
        bool_or(standards.is_cap) as is_cap,
        string_agg(
            distinct printf('%.2f', standards.amount_yuan), '或' order by printf('%.2f', standards.amount_yuan)
        ) as standard_amounts
    from payment_lines
    left join standards
        on
            payment_lines.program_code = standards.program_code
            and coalesce(payment_lines.stage, payment_lines.enrolled_stage) = standards.stage
            and {{ is_in_force('payment_lines.term_idx', 'standards', 'term_idx') }}
    where payment_lines.disbursement_key not in (select refunds_of_payments.disbursement_key from refunds_of_payments)
    group by payment_lines.disbursement_key

),

mismatched as (

    select
        payment_lines.*,
        checked.is_cap,
        checked.standard_amounts
    from payment_lines
    inner join checked on payment_lines.disbursement_key = checked.disbursement_key
    where checked.n_standards > 0 and not checked.is_standard_amount

),

final as (

    select
        'AMOUNT_MISMATCH' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        '该生' || min(term_label)
        || string_agg(
            program_name || '（' || coalesce(grade, enrolled_grade, '年级不明') || '）发放'
            || printf('%.2f', amount_yuan) || '元，'
            || case
                when is_cap then '超过上限' || standard_amounts || '元'
                else '与标准' || standard_amounts || '元不符'
            end,
            '；' order by source_file, source_sheet, source_row
        ) as evidence
    from mismatched
    group by term_code, person_nk

)

select * from final
