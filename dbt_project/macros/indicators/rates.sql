{#- The rates of indicators.md, written once for every report that publishes
    them. -#}

{#- 辍学率: dropouts / enrolled at the start of the year, 8 decimals. -#}
{% macro dropout_rate(dropouts, enrolled) -%}
    round(cast({{ dropouts }} as double) / {{ enrolled }}, 8)
{%- endmacro %}


{#- 巩固率, annual variant: 1 − 辍学率, for the compulsory stages only (var
    compulsory_stages); null for the other stages. The cohort variant is not
    implemented: asking for it is a compile error, not a silent default. -#}
{% macro consolidation_rate(stage, dropouts, enrolled) -%}
    {%- if var('consolidation_rate_variant') != 'annual' -%}
        {{ exceptions.raise_compiler_error("only the annual 巩固率 variant is implemented") }}
    {%- endif -%}
    case
            when {{ stage }} in ('{{ var("compulsory_stages") | join("', '") }}')
                then round(1 - {{ eduaid.dropout_rate(dropouts, enrolled) }}, 8)
        end
{%- endmacro %}


{#- 资助覆盖率: the share of the group's entitled rows that are covered, 6
    decimals; an aggregate over the group's rows. -#}
{% macro coverage_rate(is_covered) -%}
    round(count(*) filter (where {{ is_covered }}) / count(*), 6)
{%- endmacro %}
