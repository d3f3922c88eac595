{#- A cast that yields null instead of an error on text that does not convert.
    dbt's own safe_cast is a plain cast on DuckDB. -#}
{% macro safe_cast(expr, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'eduaid')(expr, type)) }}
{%- endmacro %}

{% macro default__safe_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}
