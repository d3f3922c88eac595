{{ config(materialized='table') }}
-- Every resident row of each term's population-register export (the newest
-- delivery of its month) with a valid ID, keyed by the person's pseudonym so
-- that it joins the 学籍 facts.
with residents as (

    select * from {{ ref('stg_population__residents') }}
    where is_id_valid

),

final as (

    select
        resident_row_key,
        {{ person_key('id_number') }} as person_key,
        term_code,
        township,
        village,
        resident_status,
        coalesce(birth_on, birth_on_from_id) as birth_on,
        died_on,
        snapshot_on
    from residents

)

select * from final
