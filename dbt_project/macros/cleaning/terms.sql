{#- Terms: YYYY-autumn (the autumn term that starts in September of YYYY) and
    YYYY-spring (the spring term of calendar year YYYY). -#}

{#- The term a snapshot month describes: September to February → the autumn
    term that began in that September (2021-02 → 2020-autumn); March to
    August → that year's spring term. -#}
{% macro term_of_snapshot(month_date) -%}
    {%- set int_type = api.Column.translate_type('integer') -%}
    {%- set str_type = api.Column.translate_type('string') -%}
    case
        when {{ month_date }} is null then null
        when extract(month from {{ month_date }}) >= {{ var('autumn_term_start_month') }}
            then cast(cast(extract(year from {{ month_date }}) as {{ int_type }}) as {{ str_type }}) || '-autumn'
        when extract(month from {{ month_date }}) < {{ var('spring_term_start_month') }}
            then cast(cast(extract(year from {{ month_date }}) as {{ int_type }}) - 1 as {{ str_type }}) || '-autumn'
        else cast(cast(extract(year from {{ month_date }}) as {{ int_type }}) as {{ str_type }}) || '-spring'
    end
{%- endmacro %}


{#- The term of a payment line from its 学年 and 学期 cells.
    - school_year: 2020-2021, 2020—2021, 2020学年 (its first year counts);
    - semester: a word from seed semester_crosswalk (秋季学期, 第一学期, 全年 →
      autumn of the school year's first year; 春季学期, 第二学期 → spring of its
      second year);
    - or one semester cell that carries the year: 2020年秋季学期, 2021春,
      2021年春季学期 (the calendar year of that term), or a school year and a
      semester: 2020-2021学年第二学期, 2020学年第一学期.
    Null when the term cannot be read. Pass table-qualified column references:
    the lookup is a subquery over the seed, whose columns are semester_text and
    semester. -#}
{% macro parse_term(school_year, semester) -%}
    {%- set int_type = api.Column.translate_type('integer') -%}
    {%- set str_type = api.Column.translate_type('string') -%}
    {%- set sem = eduaid.lookup_key(semester) -%}
    {%- set school_year_form %}^([0-9]{4})(?:[-—–~/至][0-9]{2,4}(?:学年度?|学年|年度)?|学年度?)(.*)${% endset -%}
    {%- set calendar_form %}^([0-9]{4})(?:年度?)?(.*)${% endset -%}
    {%- set sem_school_year = eduaid.regex_extract(sem, school_year_form, 1) -%}
    {%- set sem_calendar_year = eduaid.regex_extract(sem, calendar_form, 1) -%}
    {%- set season_word -%}
        coalesce(
            {{ eduaid.regex_extract(sem, school_year_form, 2) }},
            {{ eduaid.regex_extract(sem, calendar_form, 2) }},
            {{ sem }}
        )
    {%- endset -%}
    {%- set first_year -%}
        coalesce({{ sem_school_year }}, {{ eduaid.regex_extract(eduaid.lookup_key(school_year), '^([0-9]{4})', 1) }})
    {%- endset -%}
    (
        select
            case
                when {{ sem_school_year }} is null and {{ sem_calendar_year }} is not null
                    then {{ sem_calendar_year }} || '-' || semester_crosswalk.semester
                when semester_crosswalk.semester = 'autumn'
                    then {{ first_year }} || '-autumn'
                else cast(cast({{ first_year }} as {{ int_type }}) + 1 as {{ str_type }}) || '-spring'
            end
        from {{ ref('semester_crosswalk') }} as semester_crosswalk
        where semester_crosswalk.semester_text = {{ season_word }}
    )
{%- endmacro %}


{#- The first year of a term code (2020 for 2020-autumn and for 2020-spring). -#}
{% macro term_year(term_code) -%}
    cast(left({{ term_code }}, 4) as {{ api.Column.translate_type('integer') }})
{%- endmacro %}


{#- A number that orders terms in time: 2020-spring < 2020-autumn < 2021-spring,
    consecutive terms differ by one. -#}
{% macro term_index(term_code) -%}
    ({{ eduaid.term_year(term_code) }} * 2 + case when {{ term_code }} like '%-autumn' then 1 else 0 end)
{%- endmacro %}


{#- The term code of a term index (the inverse of term_index). -#}
{% macro term_of_index(term_idx) -%}
    {%- set str_type = api.Column.translate_type('string') -%}
    cast(({{ term_idx }}) // 2 as {{ str_type }})
    || case when ({{ term_idx }}) % 2 = 1 then '-autumn' else '-spring' end
{%- endmacro %}


{#- The date a term starts, from which eligibility is read: 1 September for
    autumn, 1 March for spring (vars autumn_term_start_month and
    spring_term_start_month). -#}
{% macro term_start_on(term_code) -%}
    make_date(
        {{ eduaid.term_year(term_code) }},
        case when {{ term_code }} like '%-autumn'
            then {{ var('autumn_term_start_month') }}
            else {{ var('spring_term_start_month') }}
        end,
        1
    )
{%- endmacro %}


{#- A term as people write it in Chinese: 2020-autumn → 2020年秋季学期. -#}
{% macro term_label_cn(term_code) -%}
    left({{ term_code }}, 4) || '年'
    || case when {{ term_code }} like '%-autumn' then '秋季学期' else '春季学期' end
{%- endmacro %}


{#- A person's age in whole years on the first day of the school year of a term
    (1 <autumn_term_start_month>; school_year is 'YYYY-YYYY'): the age the
    compulsory-schooling rules and the ledger counts speak of. -#}
{% macro age_at_school_year_start(birth_on, school_year) -%}
    {{ eduaid.term_year(school_year) }} - extract(year from {{ birth_on }})
    - case
        when
            extract(month from {{ birth_on }}) * 100 + extract(day from {{ birth_on }})
            > {{ var('autumn_term_start_month') }} * 100 + 1
            then 1
        else 0
    end
{%- endmacro %}
