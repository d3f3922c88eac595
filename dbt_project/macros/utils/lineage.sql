{#- The lineage every staging model keeps, under its staging names. -#}
{% macro lineage_columns(relation_alias) -%}
    {{ relation_alias }}._file_name as source_file,
    {{ relation_alias }}._sheet_name as source_sheet,
    {{ relation_alias }}._row_number as source_row,
    {{ relation_alias }}._file_sha256 as source_file_sha256,
    {{ relation_alias }}._delivered_at as delivered_at,
    {{ relation_alias }}._loaded_at as loaded_at
{%- endmacro %}
