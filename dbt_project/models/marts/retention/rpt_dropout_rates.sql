-- One row per school year, stage (and 'all') and 辍学率 variant:
-- dropout_rate = dropouts / enrolled at the start of the year, rounded to 8
-- decimals; consolidation_rate (巩固率, annual variant) = 1 − dropout_rate,
-- for the compulsory stages only.
with counted as (select * from {{ ref('int_dropout_cohort_counted_by_variant') }}),

stage_groups as (

    select
        school_year,
        variant,
        stage,
        is_default_variant,
        is_partial_year,
        is_dropout
    from counted
    union all
    select
        school_year,
        variant,
        'all' as stage, -- noqa: RF04
        is_default_variant,
        is_partial_year,
        is_dropout
    from counted

),

aggregated as (

    select
        school_year,
        variant,
        stage,
        bool_or(is_default_variant) as is_default_variant,
        bool_or(is_partial_year) as is_partial_year,
        count(*) as enrolled,
        count(*) filter (where is_dropout) as dropouts
    from stage_groups
    group by school_year, variant, stage

),

final as (

    select
        {{ gen_skey(['school_year', 'stage', 'variant']) }} as dropout_rate_key,
        school_year,
        stage,
        variant,
        '{{ var("consolidation_rate_variant") }}' as consolidation_rate_variant,
        enrolled,
        dropouts,
        {{ dropout_rate('dropouts', 'enrolled') }} as dropout_rate,
        {{ consolidation_rate('stage', 'dropouts', 'enrolled') }} as consolidation_rate,
        is_default_variant,
        is_partial_year
    from aggregated

)

select * from final
