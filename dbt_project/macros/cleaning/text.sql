{#- Text folding shared by every cleaning macro. -#}

{#- Unicode NFKC for what registry exports contain: full-width ASCII
    (U+FF01..U+FF5E, e.g. ４２０３９９, （, ｘ), the ideographic space U+3000 and
    the full-width currency signs. DuckDB has nfc_normalize only, so the fold is
    an explicit character map. -#}
{% macro fold_fullwidth(expr) -%}
    {{ return(adapter.dispatch('fold_fullwidth', 'eduaid')(expr)) }}
{%- endmacro %}

{% macro default__fold_fullwidth(expr) -%}
    translate(
        {{ expr }},
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　￥￠￡',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ¥¢£'
    )
{%- endmacro %}

{#- DuckDB's translate is slow with a long map (about 8 µs a cell), and almost
    no cell holds a full-width character: translate only those that do. -#}
{% macro duckdb__fold_fullwidth(expr) -%}
    {%- set fullwidth_chars %}[\x{FF01}-\x{FF5E}\x{3000}\x{FFE0}-\x{FFE5}]{% endset -%}
    {%- set body -%}
    case
        when regexp_matches(fw_text__, '{{ fullwidth_chars }}')
            then translate(
        fw_text__,
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　￥￠￡',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ¥¢£'
    )
        else fw_text__
    end
    {%- endset -%}
    {{ eduaid.let(expr, 'fw_text__', body) }}
{%- endmacro %}


{#- Every kind of whitespace a cell can hold: ASCII, no-break, ideographic
    (all Unicode separators), zero-width space and BOM. A character class body. -#}
{% macro whitespace_class() -%}
    {%- set cls %}\s\p{Z}\x{200B}\x{FEFF}{% endset -%}
    {{- return(cls) -}}
{%- endmacro %}


{#- Folded, trimmed of all whitespace kinds at both ends; null when empty. -#}
{% macro clean_text(expr) -%}
    {%- set ws = eduaid.whitespace_class() -%}
    nullif(
        {{ eduaid.regex_replace_all(eduaid.fold_fullwidth(expr), '^[' ~ ws ~ ']+|[' ~ ws ~ ']+$', '') }},
        ''
    )
{%- endmacro %}


{#- The form every seed lookup key is stored in (architecture.md: NFKC, then
    every whitespace character removed); null when empty. -#}
{% macro lookup_key(expr) -%}
    {%- set ws = eduaid.whitespace_class() -%}
    nullif(
        {{ eduaid.regex_replace_all(eduaid.fold_fullwidth(expr), '[' ~ ws ~ ']+', '') }},
        ''
    )
{%- endmacro %}


{#- Person names: fold, trim, drop whitespace between two Han characters
    (张 三 → 张三, 郑　丽 → 郑丽), collapse other inner runs to one space
    (Latin-script names), and unify the middle dot of minority names
    (. • ・ ‧ ･ → ·). -#}
{% macro normalize_name(expr) -%}
    {%- set ws = eduaid.whitespace_class() -%}
    {%- set han_gap %}(\p{Han})[{{ ws }}]+(\p{Han}){% endset -%}
    {%- set back_refs %}\1\2{% endset -%}
    {%- set trimmed = eduaid.clean_text(expr) -%}
    {#- Applied twice: matches cannot overlap, so 李 秀 英 needs a second pass. -#}
    {%- set joined = eduaid.regex_replace_all(
        eduaid.regex_replace_all(trimmed, han_gap, back_refs), han_gap, back_refs
    ) -%}
    {%- set dotted = eduaid.regex_replace_all(joined, '[' ~ ws ~ ']*[.•・‧･·][' ~ ws ~ ']*', '·') -%}
    nullif({{ eduaid.regex_replace_all(dotted, '[' ~ ws ~ ']+', ' ') }}, '')
{%- endmacro %}


{#- Township spellings: fold, no whitespace, no trailing 人民政府 / 政府
    (城关镇人民政府 = 城关镇). Other variants go through seed township_aliases. -#}
{% macro normalize_township(expr) -%}
    nullif({{ eduaid.regex_replace_all(eduaid.lookup_key(expr), '(人民政府|政府)$', '') }}, '')
{%- endmacro %}


{#- 男 / 女 from the spellings seen in exports; anything else is null. -#}
{% macro normalize_sex(expr) -%}
    case upper({{ eduaid.lookup_key(expr) }})
        when '男' then '男'
        when '男性' then '男'
        when 'M' then '男'
        when '1' then '男'
        when '女' then '女'
        when '女性' then '女'
        when 'F' then '女'
        when '2' then '女'
    end
{%- endmacro %}


{#- 是 / 否 cells as booleans; anything else is null. -#}
{% macro parse_yes_no(expr) -%}
    case upper({{ eduaid.lookup_key(expr) }})
        when '是' then true
        when '有' then true
        when 'Y' then true
        when 'YES' then true
        when '1' then true
        when 'TRUE' then true
        when '否' then false
        when '无' then false
        when 'N' then false
        when 'NO' then false
        when '0' then false
        when 'FALSE' then false
    end
{%- endmacro %}


{#- A code-like cell (school code, household id, batch id): folded, with no
    whitespace at all; an Excel-rendered '2142039901.0' keeps its text. -#}
{% macro clean_code(expr) -%}
    {{ eduaid.lookup_key(expr) }}
{%- endmacro %}
