{#- A person's pseudonym: lowercase hex HMAC-SHA256 of the expression under the
    project's secret key, null for null. The UDF eduaid_pseudonym is registered on
    every dbt connection by the plugin orchestration/dbt/pseudonym_plugin.py, so
    use it in table-materialised models (a view would need the UDF wherever it is
    queried). Pass the normalised natural key, e.g. person_key('id_number'). -#}
{% macro person_key(nk_expression) -%}
    eduaid_pseudonym({{ nk_expression }})
{%- endmacro %}


{#- An 18-character ID with all but the first 6 (area code) and the last 4
    characters masked: 420399********0121. Null when the value is not 18
    characters long. -#}
{% macro mask_id(id_expression) -%}
    case
        when length({{ id_expression }}) = 18
            then left({{ id_expression }}, 6) || '********' || right({{ id_expression }}, 4)
    end
{%- endmacro %}
