{#- Snapshot sources: a month may be delivered more than once; the newest
    delivery of each snapshot month wins (latest _delivered_at, ties broken by
    the greater file name, then content hash). Rank 1 rows are the ones to keep;
    every row of one file version gets the same rank. A landing folder that holds
    several counties (a prefecture, a province) has one folder per county under each
    source: the newest delivery is decided per folder (delivery_series). -#}
{% macro delivery_rank() -%}
    dense_rank() over (
        partition by _snapshot_month, {{ eduaid.delivery_series('_file_name') }}
        order by _delivered_at desc, _file_name desc, _file_sha256 desc
    )
{%- endmacro %}

{#- The folder a file was delivered in, under its source's folder ('' at the top). -#}
{% macro delivery_series(file_name) -%}
    coalesce({{ eduaid.regex_extract(file_name, '^(.*)/', 1) }}, '')
{%- endmacro %}

{#- Post-hook of an incremental snapshot model: the rows of a delivery that a newer
    one of the same month and folder has replaced since they were staged. -#}
{% macro delete_superseded_deliveries(source_name) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where source_file_sha256 not in (
        select _file_sha256 from (
            select
                _file_sha256,
                {{ eduaid.delivery_rank() }} as delivery_rank
            from {{ source('raw', source_name) }}
        ) as ranked
        where delivery_rank = 1
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- The import CTEs of a snapshot source's staging model: `source`, its deliveries
    ranked (delivery_rank above), and `newest_delivery`, the rows of the newest
    delivery of each snapshot month: what every snapshot staging model cleans.
    Incremental (unique key source_file_sha256): only the newest deliveries not yet
    in the model. -#}
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
        -- a new run stages only the newest deliveries not staged yet; the model's
        -- post-hook (delete_superseded_deliveries) removes the ones they replace
        and _file_sha256 not in (select staged.source_file_sha256 from {{ this }} as staged)
        {%- endif %}

)
{%- endmacro %}
