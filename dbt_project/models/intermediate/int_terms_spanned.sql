-- Every term from the earliest to the latest that the 学籍 snapshots or the
-- payment lists describe, without gaps, with its school year and start date.
with student_terms as (

    select distinct term_code from {{ ref('stg_students__enrollments') }}

),

payment_terms as (

    select distinct term_code from {{ ref('stg_disbursements__payment_lines') }}
    where term_code is not null

),

observed as (

    select {{ term_index('term_code') }} as term_idx from student_terms
    union all
    select {{ term_index('term_code') }} as term_idx from payment_terms

),

spine as (

    select unnest(range(min(term_idx), max(term_idx) + 1)) as term_idx
    from observed

),

coded as (

    select
        term_idx,
        {{ term_of_index('term_idx') }} as term_code
    from spine

),

final as (

    select
        term_code,
        case when term_code like '%-autumn' then 'autumn' else 'spring' end as semester,
        case
            when term_code like '%-autumn'
                then {{ term_year('term_code') }} || '-' || ({{ term_year('term_code') }} + 1)
            else ({{ term_year('term_code') }} - 1) || '-' || {{ term_year('term_code') }}
        end as school_year,
        term_idx,
        {{ term_start_on('term_code') }} as start_on
    from coded

)

select * from final
