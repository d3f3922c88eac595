{#- The lineage every staging model keeps, under its staging names. Use in a
    select from a single raw relation. -#}
{% macro lineage_columns() -%}
    _file_name as source_file,
    _sheet_name as source_sheet,
    _row_number as source_row,
    _file_sha256 as source_file_sha256,
    _delivered_at as delivered_at,
    _loaded_at as loaded_at
{%- endmacro %}

{#- The same lineage passed on from a CTE (`relation`) that selected lineage_columns(). -#}
{% macro lineage_of(relation) -%}
    {%- for column in ['source_file', 'source_sheet', 'source_row', 'source_file_sha256',
                       'delivered_at', 'loaded_at'] %}
        {{ relation }}.{{ column }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A raw row's key: the file version, sheet and row it was loaded from (the
    key of every staging model's rows). -#}
{% macro source_row_key() -%}
    {{ eduaid.gen_skey(['_file_sha256', '_sheet_name', '_row_number']) }}
{%- endmacro %}
