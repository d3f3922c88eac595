{#- Dates as registry exports spell them. -#}

{#- A date from year, month and day text; null when not a real date. -#}
{% macro date_from_parts(year_expr, month_expr, day_expr) -%}
    {{ eduaid.safe_cast(
        year_expr ~ " || '-' || lpad(" ~ month_expr ~ ", 2, '0') || '-' || lpad(" ~ day_expr ~ ", 2, '0')",
        api.Column.translate_type('date')
    ) }}
{%- endmacro %}


{#- 2020-09-30, 2020/9/30, 2020.09.30, 2020年9月30日, 20200930, an Excel
    serial (44104 = 2020-09-30, 1900 date system, within excel_serial_min ..
    excel_serial_max) and YYYY-MM-DD HH:MM:SS; anything else is null. -#}
{% macro parse_date(expr) -%}
    {%- set v = eduaid.clean_text(expr) -%}
    {%- set ymd %}([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?{% endset -%}
    {%- set serial %}[0-9]{5}(?:\.[0-9]+)?{% endset -%}
    {%- set int_type = api.Column.translate_type('integer') -%}
    case
        when {{ eduaid.regex_full_match(v, ymd) }}
            then {{ eduaid.date_from_parts(
                eduaid.regex_extract(v, '^' ~ ymd ~ '$', 1),
                eduaid.regex_extract(v, '^' ~ ymd ~ '$', 2),
                eduaid.regex_extract(v, '^' ~ ymd ~ '$', 3)
            ) }}
        when {{ eduaid.regex_full_match(v, '[0-9]{8}') }}
            then {{ eduaid.date_from_parts(
                'substr(' ~ v ~ ', 1, 4)', 'substr(' ~ v ~ ', 5, 2)', 'substr(' ~ v ~ ', 7, 2)'
            ) }}
        when {{ eduaid.regex_full_match(v, serial) }}
            and {{ eduaid.safe_cast(v, api.Column.translate_type('float')) }}
            between {{ var('excel_serial_min') }} and {{ var('excel_serial_max') }}
            then cast({{ dbt.dateadd(
                'day',
                'cast(floor(' ~ eduaid.safe_cast(v, api.Column.translate_type('float')) ~ ') as ' ~ int_type ~ ')',
                "cast('1899-12-30' as date)"
            ) }} as date)
    end
{%- endmacro %}


{#- A month as the first day of it: 2020.9, 2020-09, 2020/9, 2020年9月, 202009,
    or any full date parse_date reads (its month). Null otherwise. Note that
    Excel turns a typed 2020.10 into the number 2020.1, which reads as January. -#}
{% macro parse_month(expr) -%}
    {%- set v = eduaid.clean_text(expr) -%}
    {%- set ym %}([0-9]{4})[-/.年]([0-9]{1,2})月?{% endset -%}
    case
        when {{ eduaid.regex_full_match(v, ym) }}
            then {{ eduaid.date_from_parts(
                eduaid.regex_extract(v, '^' ~ ym ~ '$', 1),
                eduaid.regex_extract(v, '^' ~ ym ~ '$', 2),
                "'1'"
            ) }}
        when {{ eduaid.regex_full_match(v, '[0-9]{6}') }}
            then {{ eduaid.date_from_parts('substr(' ~ v ~ ', 1, 4)', 'substr(' ~ v ~ ', 5, 2)', "'1'") }}
        else cast({{ dbt.date_trunc('month', eduaid.parse_date(expr)) }} as date)
    end
{%- endmacro %}


{#- A parse flag: null when the cell was empty, true when it held a value that
    parsed, false when it held a value that did not (so `where not is_x_parsed`
    lists exactly the unreadable cells). -#}
{% macro is_parsed(raw_expr, parsed_expr) -%}
    case
        when {{ eduaid.clean_text(raw_expr) }} is null then null
        else {{ parsed_expr }} is not null
    end
{%- endmacro %}


{#- A parsed column and its parse flag side by side, the parse written once
    for both: parsed(parse_date, 'birth_date', 'birth_on') gives birth_on and
    is_birth_on_parsed (or the flag's name when given). -#}
{% macro parsed(parser, column, name, flag=none) -%}
    {%- set expr = parser(column) -%}
    {{ expr }} as {{ name }},
    {{ eduaid.is_parsed(column, expr) }} as {{ flag or 'is_' ~ name ~ '_parsed' }}
{%- endmacro %}
