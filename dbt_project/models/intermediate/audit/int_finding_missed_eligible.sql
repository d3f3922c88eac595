-- MISSED_ELIGIBLE (high, 漏助): an entitled student with no payment of an
-- entitlement programme in the term (net paid of the programme 0 or less after
-- refunds). One row per person and term; program_code is the smallest missed
-- programme code when several are missed, and the evidence names them all.
with

{{ import_ctes([
    ('entitlements', 'int_aid_entitlements_determined'),
    ('payments', 'int_payments_netted_by_person'),
]) }},

programs as (

    select
        program_code,
        program_name
    from {{ ref('aid_programs') }}

),

missed as (

    select
        entitlements.*,
        programs.program_name,
        coalesce(payments.net_paid_yuan, 0) as net_paid_yuan
    from entitlements
    inner join programs on entitlements.program_code = programs.program_code
    left join payments
        on
            entitlements.person_nk = payments.person_nk
            and entitlements.term_code = payments.term_code
            and entitlements.program_code = payments.program_code
    where coalesce(payments.net_paid_yuan, 0) <= 0

),

final as (

    select
        'MISSED_ELIGIBLE' as finding_type,
        term_code,
        person_nk,
        min(program_code) as program_code,
        min(school_code) as school_code,
        cast(sum(standard_yuan) as decimal(12, 2)) as amount_yuan,
        cast([] as varchar[]) as disbursement_keys,
        cast(null as varchar) as source_lines,
        {{ term_label_cn('term_code') }} || '该生在读（学校' || min(school_code) || '），困难类别为'
        || min(hardship_category)
        || '，应享受'
        || string_agg(
            program_name || '（标准' || coalesce(printf('%.2f', standard_yuan), '未定') || '元）',
            '、' order by program_code
        )
        || '，未见净发放' as evidence
    from missed
    group by term_code, person_nk

)

select * from final
