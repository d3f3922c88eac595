{#- Money in yuan as decimal(18,2): 1,250.00, 625元, ￥625, ¥625, 625.5, -1000,
    −1000, full-width digits; a negative amount is a refund (退回, 冲回) and stays
    negative; anything else is null. The rule is defined once, in
    orchestration/money.py, as the DuckDB macro eduaid_money_yuan, which the
    dbt-duckdb plugin (orchestration/dbt/pseudonym_plugin.py) creates on every
    connection dbt opens; the ingest reconciles a payment list's stated total with
    the same macro. -#}
{% macro parse_money_yuan(expr) -%}
    eduaid_money_yuan({{ expr }})
{%- endmacro %}
