{{ config(materialized='table') }}
-- Every case row of each term's dropout-control ledger export (the newest
-- delivery of its month), with the person it is about.
--
-- person_nk: the case's valid ID; a case without an ID (a pupil with no ID
-- card) is the one 学籍 pupil without an ID (J or L number) of the same name,
-- when there is exactly one. birth_on: from the ID, else from that pupil's
-- 学籍 rows. is_latest_case: the person's most recently recorded case in that
-- export (the one that says how the person is accounted for).
with ledger_cases as (select * from {{ ref('stg_dropout_ledger__cases') }}),

enrollment_rows as (

    select * from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_nk is not null

),

pupils_without_id as (

    select
        person_name,
        min(person_nk) as person_nk,
        min(birth_on) as birth_on
    from enrollment_rows
    where left(person_nk, 1) in ('J', 'L')
    group by person_name
    having count(distinct person_nk) = 1

),

linked as (

    select
        ledger_cases.*,
        coalesce(
            case when ledger_cases.is_id_valid then ledger_cases.id_number end,
            pupils_without_id.person_nk
        ) as person_nk,
        coalesce(ledger_cases.birth_on_from_id, pupils_without_id.birth_on) as resolved_birth_on
    from ledger_cases
    left join pupils_without_id
        on
            ledger_cases.id_number is null
            and ledger_cases.person_name = pupils_without_id.person_name

),

final as (

    select
        case_row_key,
        person_nk,
        {{ person_key('person_nk') }} as person_key,
        term_code,
        township,
        case_type,
        disposition,
        source_file,
        source_sheet,
        source_row,
        is_open,
        person_nk is not null
        and row_number() over (
            partition by term_code, person_nk
            order by recorded_on desc nulls last, source_sheet desc, source_row desc
        ) = 1 as is_latest_case,
        resolved_birth_on as birth_on,
        recorded_on,
        closed_on,
        snapshot_on
    from linked

)

select * from final
