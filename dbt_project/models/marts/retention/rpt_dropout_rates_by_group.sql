-- One row per school year, 辍学率 variant, breakdown and group: the same
-- rates as rpt_dropout_rates broken down by school, township, grade (within
-- stage) and hardship, per stage and for all stages ('all'; not for grade).
{%- set compulsory_stages = ['primary', 'junior'] %}
with

counted as (

    select * from {{ ref('int_dropout_cohort_counted_by_variant') }}

),

aggregated as (

    select
        school_year,
        variant,
        case
            when grouping(school_code) = 0 then 'school'
            when grouping(township) = 0 then 'township'
            when grouping(grade_number) = 0 then 'grade'
            else 'hardship'
        end as breakdown,
        case when grouping(stage) = 0 then stage else 'all' end as stage,
        school_code,
        township,
        grade_number,
        is_hardship,
        bool_or(is_default_variant) as is_default_variant,
        count(*) as enrolled,
        count(*) filter (where is_dropout) as dropouts
    from counted
    group by grouping sets (
        (school_year, variant, stage, school_code),
        (school_year, variant, school_code),
        (school_year, variant, stage, township),
        (school_year, variant, township),
        (school_year, variant, stage, grade_number),
        (school_year, variant, stage, is_hardship),
        (school_year, variant, is_hardship)
    )

),

final as (

    select
        {{ gen_skey([
            'school_year', 'variant', 'breakdown', 'stage',
            'school_code', 'township', 'grade_number', 'is_hardship'
        ]) }} as dropout_rate_group_key,
        school_year,
        variant,
        breakdown,
        stage,
        school_code,
        township,
        '{{ var("consolidation_rate_variant") }}' as consolidation_rate_variant,
        grade_number,
        enrolled,
        dropouts,
        round(cast(dropouts as decimal(18, 8)) / enrolled, 8) as dropout_rate,
        case
            when stage in ('{{ compulsory_stages | join("', '") }}')
                then 1 - round(cast(dropouts as decimal(18, 8)) / enrolled, 8)
        end as consolidation_rate,
        is_hardship,
        is_default_variant
    from aggregated

)

select * from final
