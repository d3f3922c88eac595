{#- Evaluate value once and use it several times in body, where it is named
    by the identifier var (which must appear nowhere else in body). Cleaning
    macros use this so that a long expression such as a cleaned ID is not
    repeated a dozen times in the SQL (and computed a dozen times per row). -#}
{% macro let(value, var, body) -%}
    {{ return(adapter.dispatch('let', 'eduaid')(value, var, body)) }}
{%- endmacro %}

{#- Any engine: textual substitution (correct, but repeats the value). -#}
{% macro default__let(value, var, body) -%}
    {{ body | replace(var, '(' ~ value ~ ')') }}
{%- endmacro %}

{#- DuckDB: bind the value with a lambda over a one-element list. -#}
{% macro duckdb__let(value, var, body) -%}
    list_transform([{{ value }}], lambda {{ var }}: {{ body }})[1]
{%- endmacro %}
