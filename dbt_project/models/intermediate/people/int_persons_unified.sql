{{ config(materialized='table') }}
-- One row per person who was ever in the 学籍 or paid, across sources.
-- Restricted: holds real ID numbers and names (the analysts' marts carry only
-- the pseudonymous person_key and a masked ID).
--
-- A person is a normalised ID number; a pupil without an ID is his or her J
-- number (or an L number never replaced). A payment whose ID fails its
-- checksum is a person of its own with is_id_valid false, matched to nobody.
-- Name, sex and birth date come from the 学籍 first (most frequent spelling,
-- then the latest), then from the ID, then from the payment lists.
with enrollment_rows as (

    select * from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_nk is not null

),

payment_lines as (

    select * from {{ ref('stg_disbursements__payment_lines') }}
    where id_number is not null

),

registry_persons as (

    select
        person_nk,
        max(case when has_valid_id then person_nk end) as id_number,
        max(sex) as sex,
        max(birth_on) as birth_on
    from enrollment_rows
    group by person_nk

),

paid_persons as (

    select
        id_number as person_nk,
        bool_or(is_id_valid) as is_id_valid
    from payment_lines
    group by id_number

),

all_persons as (

    select person_nk from registry_persons
    union
    select person_nk from paid_persons

),

best_registry_name as (

    {{ most_used_name('enrollment_rows', 'person_nk', 'term_idx') }}

),

best_payment_name as (

    {{ most_used_name('payment_lines', 'id_number', 'paid_on') }}

),

final as (

    select
        all_persons.person_nk,
        {{ person_key('all_persons.person_nk') }} as person_key,
        case
            when registry_persons.id_number is not null then registry_persons.id_number
            when paid_persons.person_nk is not null then paid_persons.person_nk
        end as id_number,
        {{ mask_id('coalesce(registry_persons.id_number, paid_persons.person_nk)') }} as id_number_masked,
        coalesce(best_registry_name.person_name, best_payment_name.person_name) as person_name,
        coalesce(
            {{ id_sex('all_persons.person_nk') }}, registry_persons.sex
        ) as sex,
        case
            when registry_persons.person_nk is not null then registry_persons.id_number is not null
            else coalesce(paid_persons.is_id_valid, false)
        end as is_id_valid,
        registry_persons.person_nk is not null as is_in_registry,
        paid_persons.person_nk is not null as is_paid,
        coalesce(
            {{ id_birth_on('all_persons.person_nk') }}, registry_persons.birth_on
        ) as birth_on
    from all_persons
    left join registry_persons on all_persons.person_nk = registry_persons.person_nk
    left join paid_persons on all_persons.person_nk = paid_persons.person_nk
    left join best_registry_name on all_persons.person_nk = best_registry_name.person_nk
    left join best_payment_name on all_persons.person_nk = best_payment_name.person_nk

)

select * from final
