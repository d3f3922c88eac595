-- One row per term, township and age with open cases: the cases of the term's
-- dropout-control ledger export that are not closed (no 销号日期), by the
-- township the ledger names and the person's age on 1 September of the
-- school year (null when no birth date is known).
with ledger_cases as (

    select * from {{ ref('int_ledger_cases_linked_to_persons') }}
    where is_open

),

terms as (

    select * from {{ ref('dim_term') }}
    where term_code <> 'unknown'

),

aged as (

    select
        ledger_cases.term_code,
        ledger_cases.township,
        {{ age_at_school_year_start('ledger_cases.birth_on', 'terms.school_year') }} as age
    from ledger_cases
    inner join terms on ledger_cases.term_code = terms.term_code

),

final as (

    select
        {{ gen_skey(['term_code', 'township', 'age']) }} as open_ledger_cases_key,
        term_code,
        township,
        age,
        count(*) as open_cases
    from aged
    group by term_code, township, age

)

select * from final
