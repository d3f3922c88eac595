{#- The columns every payment-based finding model (intermediate/audit) shares,
    aggregated per finding type × term × person over its payment lines (from
    int_payment_lines_joined_to_enrollments): the smallest programme code, the
    student's school in the term's 学籍 (else the line's), the amount involved,
    the lines' keys and their files and rows in file order. -#}
{% macro finding_payment_columns() -%}
    min(program_code) as program_code,
    coalesce(min(enrolled_school_code), min(school_code)) as school_code,
    cast(sum(amount_yuan) as decimal(12, 2)) as amount_yuan,
    list(disbursement_key order by source_file, source_sheet, source_row) as disbursement_keys,
    string_agg(source_line, '；' order by source_file, source_sheet, source_row) as source_lines
{%- endmacro %}
