-- One row per term (YYYY-autumn / YYYY-spring) from the earliest to the
-- latest the data describes, plus the unknown member.
with terms as (select * from {{ ref('int_terms_spanned') }}),

final as (

    select
        term_code,
        semester,
        school_year,
        term_idx,
        start_on
    from terms
    union all
    select
        'unknown' as term_code,
        cast(null as varchar) as semester,
        cast(null as varchar) as school_year,
        cast(null as integer) as term_idx,
        cast(null as date) as start_on

)

select * from final
