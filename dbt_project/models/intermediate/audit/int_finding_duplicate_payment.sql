-- DUPLICATE_PAYMENT (critical): the same person paid twice or more for one
-- programme and term, net of refunds, also across schools or batches: the
-- lines of a person, programme and term add up (refunds negative) to more
-- than the largest single line. A duplicate refunded later nets to one
-- payment and is not a finding. The lines involved are the payments (not the
-- refunds). Lines whose ID fails its checksum belong to nobody.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid

),

by_program as (

    select
        term_code,
        person_nk,
        program_code,
        sum(amount_yuan) as net_amount_yuan,
        max(amount_yuan) as largest_line_yuan,
        count(*) filter (where not is_refund) as n_payments,
        count(*) filter (where is_refund) as n_refunds
    from payment_lines
    group by term_code, person_nk, program_code

),

duplicated as (

    select * from by_program
    where net_amount_yuan > largest_line_yuan

),

duplicate_lines as (

    select
        payment_lines.*,
        duplicated.net_amount_yuan,
        duplicated.largest_line_yuan,
        duplicated.n_payments,
        duplicated.n_refunds
    from payment_lines
    inner join duplicated
        on
            payment_lines.term_code = duplicated.term_code
            and payment_lines.person_nk = duplicated.person_nk
            and payment_lines.program_code = duplicated.program_code
    where not payment_lines.is_refund

),

by_program_described as (

    select
        term_code,
        person_nk,
        program_code,
        min(enrolled_school_code) as enrolled_school_code,
        min(school_code) as school_code,
        min(net_amount_yuan) as net_amount_yuan,
        list(disbursement_key order by source_file, source_sheet, source_row) as disbursement_keys,
        string_agg(source_line, '；' order by source_file, source_sheet, source_row) as source_lines,
        min(term_label) || min(program_name) || '发放' || cast(min(n_payments) as varchar) || '笔（批次'
        || string_agg(distinct batch_id, '、' order by batch_id) || '；学校'
        || string_agg(distinct coalesce(school_code, '无'), '、' order by coalesce(school_code, '无')) || '）'
        || case when min(n_refunds) > 0 then '，退回' || cast(min(n_refunds) as varchar) || '笔' else '' end
        || '，扣除退款后合计' || printf('%.2f', min(net_amount_yuan))
        || '元，超过单笔' || printf('%.2f', min(largest_line_yuan)) || '元' as description
    from duplicate_lines
    group by term_code, person_nk, program_code

),

final as (

    select
        'DUPLICATE_PAYMENT' as finding_type,
        term_code,
        person_nk,
        min(program_code) as program_code,
        coalesce(min(enrolled_school_code), min(school_code)) as school_code,
        cast(sum(net_amount_yuan) as decimal(12, 2)) as amount_yuan,
        flatten(list(disbursement_keys order by program_code)) as disbursement_keys,
        string_agg(source_lines, '；' order by program_code) as source_lines,
        '该生' || string_agg(description, '；' order by program_code) as evidence
    from by_program_described
    group by term_code, person_nk

)

select * from final
