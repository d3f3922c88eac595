{#- Whether `value` falls in the validity interval of a row of `relation`: from
    valid_from_<unit> (included) to valid_to_<unit> (excluded), the convention of
    every validity interval here (aid rules and standards by term index, household
    intervals and memberships by date). -#}
{% macro is_in_force(value, relation, unit='on') -%}
    ({{ value }} >= {{ relation }}.valid_from_{{ unit }} and {{ value }} < {{ relation }}.valid_to_{{ unit }})
{%- endmacro %}
