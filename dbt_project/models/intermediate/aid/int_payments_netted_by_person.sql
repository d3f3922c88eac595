-- One row per person × term × programme paid: the net amount of the lines
-- whose ID is valid (refunds are negative lines and net out), the number of
-- positive lines and of refunds. A line whose ID fails its checksum is
-- matched to nobody and is not here.
with payment_lines as (

    select * from {{ ref('stg_disbursements__payment_lines') }}
    where is_id_valid and term_code is not null and program_code is not null

),

final as (

    select
        id_number as person_nk,
        term_code,
        program_code,
        sum(amount_yuan) as net_paid_yuan,
        count(*) filter (where amount_yuan > 0) as n_payments,
        count(*) filter (where amount_yuan < 0) as n_refunds
    from payment_lines
    group by id_number, term_code, program_code

)

select * from final
