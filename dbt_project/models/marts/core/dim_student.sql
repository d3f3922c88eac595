-- One row per person who was ever in the 学籍 or paid, plus the unknown member.
-- Pseudonymous: person_key and a masked ID only (the real ID and name stay in
-- the restricted int_persons_unified).
with persons as (select * from {{ ref('int_persons_unified') }}),

unknown_member as (

    select
        {{ unknown_skey() }} as person_key,
        cast(null as varchar) as id_number_masked,
        cast(null as varchar) as sex,
        'unknown' as person_kind,
        false as is_id_valid,
        false as is_in_registry,
        false as is_paid,
        cast(null as date) as birth_on

),

final as (

    select
        person_key,
        id_number_masked,
        sex,
        case
            when left(person_nk, 1) = 'J' then 'j_number'
            when left(person_nk, 1) = 'L' then 'l_number'
            when is_id_valid then 'id_number'
            else 'invalid_id_number'
        end as person_kind,
        is_id_valid,
        is_in_registry,
        is_paid,
        birth_on
    from persons
    union all
    select * from unknown_member

)

select * from final
