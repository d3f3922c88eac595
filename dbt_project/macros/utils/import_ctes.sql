{#- Import CTEs (the first CTEs of a model), from a list of
    (cte name, model or seed) or (cte name, 'status_crosswalk', its source):
    a model or seed is selected whole; a status crosswalk is filtered to one source's
    vocabulary (status_text -> status_code). -#}
{% macro import_ctes(ctes) -%}
{%- for cte in ctes %}
{{ cte[0] }} as (

    {% if cte | length == 3 -%}
    select
        status_text,
        status_code
    from {{ ref(cte[1]) }}
    where source = '{{ cte[2] }}'
    {%- else -%}
    select * from {{ ref(cte[1]) }}
    {%- endif %}

){{ "," if not loop.last }}
{%- endfor %}
{%- endmacro %}

{#- The columns every snapshot staging model ends its cleaned rows with: the
    snapshot month, the term it describes, and the lineage. -#}
{% macro snapshot_columns() -%}
    _snapshot_month as snapshot_on,
    {{ eduaid.term_of_snapshot('_snapshot_month') }} as term_code,
    {{ eduaid.lineage_columns() }}
{%- endmacro %}
