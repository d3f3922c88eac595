{%- set variants = ['default', 'lianji'] -%}
{%- if var('dropout_rate_variant') not in variants -%}
    {{ exceptions.raise_compiler_error("var dropout_rate_variant must be one of " ~ variants) }}
{%- endif -%}
-- One row per 辍学率 variant and cohort member that the variant counts
-- (indicators.md "Retention"):
--   default: the excluded (deceased or transferred out during the year) are
--     left out of both the enrolled and the dropouts;
--   lianji (the older 两基 count): the excluded stay in the enrolled, and a
--     dropout counts whatever else happened.
-- is_default_variant marks the variant of var dropout_rate_variant.
with cohort as (select * from {{ ref('fct_dropout_cohort') }}),

variants as (

    {% for variant in variants -%}
        select '{{ variant }}' as variant
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select
        cohort.person_key,
        cohort.school_year,
        variants.variant,
        cohort.school_code,
        cohort.township,
        cohort.stage,
        cohort.grade,
        cohort.grade_number,
        cohort.is_hardship,
        cohort.is_excluded,
        cohort.is_dropout,
        cohort.is_partial_year,
        variants.variant = '{{ var("dropout_rate_variant") }}' as is_default_variant
    from cohort
    cross join variants
    where variants.variant = 'lianji' or not cohort.is_excluded

),

final as (

    select * from counted

)

select * from final
