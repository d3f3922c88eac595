-- One row per township of the county (乡镇), from every registry that names
-- one, plus the unknown member.
with townships as (

    select township from {{ ref('stg_schools__schools') }}
    union
    select township from {{ ref('stg_households__members') }}
    union
    select township from {{ ref('stg_population__residents') }}
    union
    select township from {{ ref('stg_dropout_ledger__cases') }}

),

counties as (

    select
        township,
        max(county) as county
    from {{ ref('stg_households__members') }}
    group by township

),

final as (

    select
        {{ gen_skey(['townships.township']) }} as area_key,
        counties.county,
        townships.township
    from townships
    left join counties on townships.township = counties.township
    where townships.township is not null
    union all
    select
        {{ unknown_skey() }} as area_key,
        cast(null as varchar) as county,
        '未知乡镇' as township

)

select * from final
