-- One row per programme × stage × variant × validity interval of a standard
-- amount (seed aid_standards). A standard applies from valid_from_term up to,
-- not including, valid_to_term (null: still in force).
with standards as (select * from {{ ref('aid_standards') }}),

indexed as (

    select
        *,
        {{ term_index('valid_from_term') }} as valid_from_term_idx
    from standards

),

final as (

    select
        {{ gen_skey(['program_code', 'stage', 'variant', 'valid_from_term']) }} as aid_standard_key,
        program_code,
        stage,
        coalesce(variant, '') as variant,
        valid_from_term,
        lead(valid_from_term) over (
            partition by program_code, stage, variant order by valid_from_term_idx
        ) as valid_to_term,
        valid_from_term_idx,
        coalesce(
            lead(valid_from_term_idx) over (
                partition by program_code, stage, variant order by valid_from_term_idx
            ),
            99999
        ) as valid_to_term_idx,
        amount_yuan,
        is_cap
    from indexed

)

select * from final
