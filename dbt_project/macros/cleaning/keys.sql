{#- The one surrogate-key recipe: md5 of the natural parts, cast to text, with
    null written as a marker (so that null and '' differ) and joined by '|'.
    Keep the natural id next to the key. -#}
{% macro gen_skey(parts) -%}
    {%- set str_type = api.Column.translate_type('string') -%}
    {%- set fields = [] -%}
    {%- for part in parts -%}
        {%- if not loop.first -%}{%- do fields.append("'|'") -%}{%- endif -%}
        {%- do fields.append("coalesce(cast(" ~ part ~ " as " ~ str_type ~ "), '_null_')") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(fields)) }}
{%- endmacro %}


{#- The key of a dimension's unknown member, which facts point to when the
    natural id does not resolve. -#}
{% macro unknown_skey() -%}
    {{ eduaid.gen_skey(["'-1'"]) }}
{%- endmacro %}
