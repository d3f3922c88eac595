{#- Snapshot sources: a month may be delivered more than once; the newest
    delivery of each snapshot month wins (latest _delivered_at, ties broken by
    the greater file name, then content hash). Rank 1 rows are the ones to keep;
    every row of one file version gets the same rank. -#}
{% macro delivery_rank() -%}
    dense_rank() over (
        partition by _snapshot_month
        order by _delivered_at desc, _file_name desc, _file_sha256 desc
    )
{%- endmacro %}
