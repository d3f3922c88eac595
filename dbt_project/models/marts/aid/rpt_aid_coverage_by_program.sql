-- Coverage per term × programme × township × stage × hardship category:
-- entitled students, covered students (net paid > 0) and the rate.
with entitlements as (select * from {{ ref('fct_aid_entitlement') }}),

final as (

    select
        term_code,
        program_code,
        township,
        stage,
        hardship_category,
        count(*) as entitled,
        count(*) filter (where is_covered) as covered,
        {{ coverage_rate('is_covered') }} as coverage_rate
    from entitlements
    group by term_code, program_code, township, stage, hardship_category

)

select * from final
