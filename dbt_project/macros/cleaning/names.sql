{#- A person's name as the rows of one registry (`rows`) spell it most often; of
    spellings used as often, the one of the latest row (`recency`, a term index or a
    date), then the first in order. One row per person (`person`, returned as
    person_nk); rows without a name are not counted. -#}
{% macro most_used_name(rows, person, recency) -%}
    select
        {{ person }} as person_nk,
        person_name
    from {{ rows }}
    where person_name is not null
    group by {{ person }}, person_name
    qualify row_number() over (
        partition by {{ person }} order by count(*) desc, max({{ recency }}) desc, person_name asc
    ) = 1
{%- endmacro %}
