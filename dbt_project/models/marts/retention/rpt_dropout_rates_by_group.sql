-- One row per school year, 辍学率 variant, breakdown and group: the same
-- rates as rpt_dropout_rates broken down by school, township, grade (within
-- a stage) and hardship, per stage and for all stages ('all'; not for grade).
-- Each cohort row is counted once per breakdown: the columns of the other
-- breakdowns are null.
{% set breakdown_columns = [
    ('school', 'school_code', 'varchar'),
    ('township', 'township', 'varchar'),
    ('grade', 'grade_number', 'integer'),
    ('hardship', 'is_hardship', 'boolean'),
] %}
{#- the grain: one row per these columns -#}
{% set group_columns = [
    'school_year', 'variant', 'breakdown', 'stage', 'school_code', 'township', 'grade_number', 'is_hardship'
] %}

with counted as (select * from {{ ref('int_dropout_cohort_counted_by_variant') }}),

breakdowns as (

    {% for breakdown, _column, _type in breakdown_columns %}
        select
            school_year,
            variant,
            '{{ breakdown }}' as breakdown,
            stage,
            {% for other, column, type in breakdown_columns -%}
                {% if other == breakdown %}{{ column }}{% else %}cast(null as {{ type }}) as {{ column }}{% endif %},
            {% endfor -%}
            is_default_variant,
            is_dropout
        from counted
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

stage_groups as (

    select * from breakdowns
    union all
    select
        school_year,
        variant,
        breakdown,
        'all' as stage, -- noqa: RF04
        school_code,
        township,
        grade_number,
        is_hardship,
        is_default_variant,
        is_dropout
    from breakdowns
    where breakdown <> 'grade'

),

aggregated as (

    select
        {% for column in group_columns -%}
            {{ column }},
        {% endfor -%}
        bool_or(is_default_variant) as is_default_variant,
        count(*) as enrolled,
        count(*) filter (where is_dropout) as dropouts
    from stage_groups
    group by {{ group_columns | join(', ') }}

),

final as (

    select
        {{ gen_skey(group_columns) }} as dropout_rate_group_key,
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
        {{ dropout_rate('dropouts', 'enrolled') }} as dropout_rate,
        {{ consolidation_rate('stage', 'dropouts', 'enrolled') }} as consolidation_rate,
        is_hardship,
        is_default_variant
    from aggregated

)

select * from final
