-- One row per person and term in the 学籍 (any status) with a next term; the
-- rules are in int_enrollment_transitions_classified.
with transitions as (select * from {{ ref('int_enrollment_transitions_classified') }}),

final as (

    select
        {{ gen_skey(['person_key', 'term_code']) }} as enrollment_transition_key,
        person_key,
        term_code,
        next_term_code,
        status_in_term,
        status_in_next_term,
        next_ledger_disposition,
        transition,
        is_listed_in_next_term,
        is_end_of_stage,
        is_reported_dead
    from transitions

)

select * from final
