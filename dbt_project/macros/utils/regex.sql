{#- Regular expressions differ between engines; models and cleaning macros call
    these wrappers only. Patterns are RE2 syntax and must already be escaped
    for a SQL string literal (a quote written as two quotes). Pass patterns
    that contain backslashes through a {% set %}...{% endset %} block: Jinja
    string literals would decode escapes such as \1. -#}

{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'eduaid')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
    regexp_like({{ expr }}, '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}


{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'eduaid')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}


{#- The first capture group of pattern, or null when it does not match. -#}
{% macro regex_extract(expr, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_extract', 'eduaid')(expr, pattern, group)) }}
{%- endmacro %}

{% macro default__regex_extract(expr, pattern, group=1) -%}
    regexp_substr({{ expr }}, '{{ pattern }}', 1, 1, 'e', {{ group }})
{%- endmacro %}

{% macro duckdb__regex_extract(expr, pattern, group=1) -%}
    {#- DuckDB returns '' rather than null when nothing matches. -#}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}
