-- One row per entitled person × term × entitlement programme, with the net
-- amount paid (refunds netted) and whether it is covered (net > 0).
with

{{ import_ctes([
    ('entitlements', 'int_aid_entitlements_determined'),
    ('payments', 'int_payments_netted_by_person'),
]) }},

schools as (

    select
        school_key,
        school_code,
        township
    from {{ ref('dim_school') }}

),

final as (

    select
        {{ gen_skey(['entitlements.person_nk', 'entitlements.term_code', 'entitlements.program_code']) }}
            as aid_entitlement_key,
        {{ person_key('entitlements.person_nk') }} as person_key,
        coalesce(schools.school_key, {{ unknown_skey() }}) as school_key,
        entitlements.term_code,
        entitlements.program_code,
        entitlements.school_code,
        coalesce(schools.township, '未知乡镇') as township,
        entitlements.stage,
        entitlements.hardship_category,
        entitlements.grade_number,
        entitlements.standard_yuan,
        cast(coalesce(payments.net_paid_yuan, 0) as decimal(12, 2)) as net_paid_yuan,
        coalesce(payments.n_payments, 0) as n_payments,
        coalesce(payments.n_refunds, 0) as n_refunds,
        coalesce(payments.net_paid_yuan, 0) > 0 as is_covered,
        entitlements.is_boarding,
        entitlements.is_household_member
    from entitlements
    left join payments
        on
            entitlements.person_nk = payments.person_nk
            and entitlements.term_code = payments.term_code
            and entitlements.program_code = payments.program_code
    left join schools on entitlements.school_code = schools.school_code

)

select * from final
