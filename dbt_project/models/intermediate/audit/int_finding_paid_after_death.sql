-- PAID_AFTER_DEATH (critical): a payment dated after the person's death
-- date, or for a term that starts after it. The death date is the earliest
-- one any population-register export gives for the ID. Refund lines are not
-- payments; lines whose ID fails its checksum belong to nobody (they are
-- IDENTITY_CONFLICT only). One row per person and term; program_code is the
-- smallest programme code of the lines when they are of several programmes.
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where is_id_valid and not is_refund

),

deaths as (

    select
        id_number as person_nk,
        min(died_on) as died_on
    from {{ ref('stg_population__residents') }}
    where is_id_valid and died_on is not null
    group by id_number

),

paid_after_death as (

    select
        payment_lines.*,
        deaths.died_on
    from payment_lines
    inner join deaths on payment_lines.person_nk = deaths.person_nk
    where
        payment_lines.paid_on > deaths.died_on
        or payment_lines.term_start_on > deaths.died_on

),

final as (

    select
        'PAID_AFTER_DEATH' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        '该生于' || strftime(min(died_on), '%Y-%m-%d') || '死亡，'
        || string_agg(
            coalesce(strftime(paid_on, '%Y-%m-%d'), '') || '仍发放' || term_label || program_name
            || printf('%.2f', amount_yuan) || '元',
            '；' order by source_file, source_sheet, source_row
        ) as evidence
    from paid_after_death
    group by term_code, person_nk

)

select * from final
