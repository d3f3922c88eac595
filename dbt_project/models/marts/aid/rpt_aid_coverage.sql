-- The headline 资助覆盖率 per term × township × school × stage × hardship
-- category: entitled students, fully covered students (every programme they
-- are entitled to covered) and the rate.
with entitlements as (select * from {{ ref('fct_aid_entitlement') }}),

students as (

    select
        person_key,
        term_code,
        school_code,
        township,
        stage,
        hardship_category,
        bool_and(is_covered) as is_fully_covered
    from entitlements
    group by person_key, term_code, school_code, township, stage, hardship_category

),

final as (

    select
        term_code,
        township,
        school_code,
        stage,
        hardship_category,
        count(*) as entitled_students,
        count(*) filter (where is_fully_covered) as fully_covered,
        {{ coverage_rate('is_fully_covered') }} as coverage_rate
    from students
    group by term_code, township, school_code, stage, hardship_category

)

select * from final
