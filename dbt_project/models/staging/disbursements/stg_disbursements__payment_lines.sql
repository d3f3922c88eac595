-- Every payment line is kept, duplicates included: a line paid twice is an
-- audit finding downstream, never silently removed.
-- Incremental: each payment list is its own batch, so a new run stages only the
-- file versions not staged yet.

with source as (

    select * from {{ source('raw', 'disbursements') }}
    {%- if is_incremental() %}
    where _file_sha256 not in (select staged.source_file_sha256 from {{ this }} as staged)
    {%- endif %}

),

{{ import_ctes([
    ('program_aliases', 'program_aliases'),
    ('grades', 'grade_crosswalk'),
    ('hardship_types', 'hardship_type_crosswalk'),
]) }},

cleaned as (

    select
        {{ source_row_key() }} as payment_line_key,
        {{ clean_code('school_code') }} as school_code,
        {{ id_number_columns() }},
        upper({{ clean_code('student_number') }}) as student_number,
        {{ clean_code('batch_id') }} as batch_id,
        {{ normalize_name('name') }} as person_name,
        {{ clean_text('school_name') }} as school_name,
        {{ lookup_key('school_year') }} as school_year,
        {{ lookup_key('semester') }} as semester,
        {{ parse_term('source.school_year', 'source.semester') }} as term_code,
        {{ lookup_key('program') }} as program_name,
        {{ lookup_key('grade') }} as grade,
        {{ lookup_key('hardship_type') }} as hardship_type,
        {{ lookup_key('method') }} as payment_method,
        {{ parsed(parse_money_yuan, 'amount', 'amount_yuan', 'is_amount_parsed') }},
        {{ parsed(parse_date, 'paid_on', 'paid_on') }},
        {{ lineage_columns() }}
    from source

),

final as (

    select
        cleaned.payment_line_key,
        cleaned.school_code,
        cleaned.id_number,
        cleaned.id_number_raw,
        cleaned.student_number,
        cleaned.batch_id,
        cleaned.person_name,
        cleaned.school_name,
        cleaned.school_year,
        cleaned.semester,
        cleaned.term_code,
        cleaned.program_name,
        program_aliases.program_code,
        cleaned.grade,
        grades.stage,
        cleaned.hardship_type,
        hardship_types.hardship_type_code,
        cleaned.payment_method,
        cleaned.amount_yuan,
        grades.grade_number,
        {{ id_facts('cleaned.id_number') }},
        cleaned.term_code is not null as is_term_parsed,
        cleaned.is_amount_parsed,
        cleaned.amount_yuan < 0 as is_refund,
        cleaned.is_paid_on_parsed,
        cleaned.paid_on,
        {{ lineage_of('cleaned') }}
    from cleaned
    left join program_aliases on cleaned.program_name = program_aliases.alias
    left join grades on cleaned.grade = grades.grade_text
    left join hardship_types on cleaned.hardship_type = hardship_types.hardship_text

)

select * from final
