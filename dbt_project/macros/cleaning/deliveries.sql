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

{#- The import CTEs of a snapshot source's staging model: `source`, its deliveries
    ranked (delivery_rank above), and `newest_delivery`, the rows of the newest
    delivery of each snapshot month: what every snapshot staging model cleans.
    Incremental (unique key snapshot_on): only the months whose newest delivery is
    not yet in the model. -#}
{% macro newest_delivery_ctes(source_name) -%}
source as (

    select * from {{ source('raw', source_name) }}

),

ranked_deliveries as (

    select
        *,
        {{ eduaid.delivery_rank() }} as delivery_rank
    from source

),

newest_delivery as (

    select * from ranked_deliveries
    where
        delivery_rank = 1
        {%- if is_incremental() %}
        -- a new run stages only the months whose newest delivery is not staged yet;
        -- delete+insert on snapshot_on then replaces that month's older delivery
        and not exists (
            select 1 from {{ this }} as staged
            where
                staged.snapshot_on = ranked_deliveries._snapshot_month
                and staged.source_file_sha256 = ranked_deliveries._file_sha256
        )
        {%- endif %}

)
{%- endmacro %}
