{#- Money in yuan as decimal(12,2): 1,250.00, 625元, ￥625, ¥625, 625.5, -1000,
    full-width digits. A negative amount is a refund (退回, 冲回) and stays
    negative. Anything else is null. -#}
{% macro parse_money_yuan(expr) -%}
    {%- set ws = eduaid.whitespace_class() -%}
    {%- set stripped = eduaid.regex_replace_all(
        "replace(" ~ eduaid.fold_fullwidth(expr) ~ ", '−', '-')",
        '[,¥$' ~ ws ~ ']|元|人民币|RMB',
        ''
    ) -%}
    {%- set number %}[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+){% endset -%}
    case
        when {{ eduaid.regex_full_match(stripped, number) }}
            then {{ eduaid.safe_cast(stripped, 'decimal(12, 2)') }}
    end
{%- endmacro %}
