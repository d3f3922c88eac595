-- One row per out-of-school child and term (OUT_OF_SCHOOL_CHILD): of
-- compulsory age in the population register, not 在读 in the 学籍, not
-- accounted for by the ledger; the rules are in
-- int_children_compared_with_registries.
with children as (

    select * from {{ ref('int_children_compared_with_registries') }}
    where not is_accounted

),

final as (

    select
        {{ gen_skey(['person_key', 'term_code']) }} as out_of_school_child_key,
        person_key,
        term_code,
        township,
        village,
        ledger_disposition,
        age,
        is_hardship
    from children

)

select * from final
