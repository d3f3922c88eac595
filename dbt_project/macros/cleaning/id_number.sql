{#- Resident identity numbers (GB 11643-1999). -#}

{#- The check character of the first 17 digits: ISO 7064 MOD 11-2.
    Reads characters 1..17 of its argument (an 18-character ID will do); null
    when one of them is not a digit. -#}
{% macro id_checksum_char(first17) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    substr(
        '10X98765432',
        cast(mod(
            {%- for weight in weights %}
            {{ eduaid.safe_cast('substr(' ~ first17 ~ ', ' ~ loop.index ~ ', 1)', api.Column.translate_type('integer')) }} * {{ weight }}
            {%- if not loop.last %} +{% endif %}
            {%- endfor %},
            11
        ) as {{ api.Column.translate_type('integer') }}) + 1,
        1
    )
{%- endmacro %}


{#- The cell as typed, cleaned: full-width folded, apostrophes (Excel text
    prefix) and every whitespace removed, x upper-cased; null when empty.
    An Excel-mangled 4.20399E+17 stays as it is (and is invalid). -#}
{% macro id_number_cleaned(expr) -%}
    {%- set ws = eduaid.whitespace_class() -%}
    nullif(upper({{ eduaid.regex_replace_all(eduaid.fold_fullwidth(expr), "[''‘’`" ~ ws ~ "]+", '') }}), '')
{%- endmacro %}


{#- Cleaned, and an old 15-digit number upgraded to 18 digits: the century 19
    goes after the 6-digit area code and the check character is appended.
    Validity is a separate question: see is_valid_id. -#}
{% macro normalize_id_number(expr) -%}
    {%- set first17 = "substr(id_cleaned__, 1, 6) || '19' || substr(id_cleaned__, 7, 9)" -%}
    {%- set body -%}
    case
        when {{ eduaid.regex_full_match('id_cleaned__', '[0-9]{15}') }}
            then {{ eduaid.let(first17, 'id_first17__', "id_first17__ || " ~ eduaid.id_checksum_char('id_first17__')) }}
        else id_cleaned__
    end
    {%- endset -%}
    {{ eduaid.let(eduaid.id_number_cleaned(expr), 'id_cleaned__', body) }}
{%- endmacro %}


{#- The birth date written in an 18-character ID (null when not a real date). -#}
{% macro id_birth_date_raw(id_number) -%}
    {{ eduaid.safe_cast(
        'substr(' ~ id_number ~ ', 7, 4) || \'-\' || substr(' ~ id_number ~ ', 11, 2) || \'-\' || substr(' ~ id_number ~ ', 13, 2)',
        api.Column.translate_type('date')
    ) }}
{%- endmacro %}


{#- True when a normalised ID is 17 digits and a digit or X, its check
    character is right and its birth date is a real date between
    id_birth_year_min and today. Never null. -#}
{% macro is_valid_id(id_number) -%}
    {%- set body -%}
    coalesce(
        {{ eduaid.regex_full_match('id_checked__', '[0-9]{17}[0-9X]') }}
        and substr(id_checked__, 18, 1) = {{ eduaid.id_checksum_char('id_checked__') }}
        and {{ eduaid.id_birth_date_raw('id_checked__') }}
        between cast('{{ var("id_birth_year_min") }}-01-01' as date) and current_date,
        false
    )
    {%- endset -%}
    {{ eduaid.let(id_number, 'id_checked__', body) }}
{%- endmacro %}


{#- The birth date of a valid ID, else null. -#}
{% macro id_birth_on(id_number) -%}
    case when {{ eduaid.is_valid_id(id_number) }} then {{ eduaid.id_birth_date_raw(id_number) }} end
{%- endmacro %}


{#- The sex of a valid ID from its 17th digit: odd = 男, even = 女. -#}
{% macro id_sex(id_number) -%}
    case
        when {{ eduaid.is_valid_id(id_number) }}
            then
                case
                    when mod({{ eduaid.safe_cast('substr(' ~ id_number ~ ', 17, 1)', api.Column.translate_type('integer')) }}, 2) = 1
                        then '男'
                    else '女'
                end
    end
{%- endmacro %}


{#- The ID as the registries compare it, and the cell as the export wrote it
    (what an auditor looks for in the source file). -#}
{% macro id_number_columns(expr='id_number') -%}
    {{ eduaid.normalize_id_number(expr) }} as id_number,
    {{ expr }} as id_number_raw
{%- endmacro %}


{#- What a cleaned ID number says, for the staging models: whether it is valid
    (is_valid_id), the birth date it encodes, and with with_sex its sex. -#}
{% macro id_facts(id_number, with_sex=false) -%}
    {{ eduaid.is_valid_id(id_number) }} as is_id_valid,
    {{ eduaid.id_birth_on(id_number) }} as birth_on_from_id
    {%- if with_sex %},
    {{ eduaid.id_sex(id_number) }} as sex_from_id
    {%- endif %}
{%- endmacro %}
