-- One row per payment line of every payment list, duplicates and refunds
-- included (they are evidence for the audit findings), with the file and row
-- it came from. The person is the line's normalised ID number; a line whose
-- ID fails its checksum is a person of its own (is_id_valid false), matched
-- to nobody.
with payment_lines as (select * from {{ ref('stg_disbursements__payment_lines') }}),

schools as (

    select
        school_key,
        school_code
    from {{ ref('dim_school') }}

),

programs as (

    select program_code from {{ ref('dim_aid_program') }}

),

terms as (

    select term_code from {{ ref('dim_term') }}

),

final as (

    select
        payment_lines.payment_line_key as disbursement_key,
        case
            when payment_lines.id_number is not null
                then {{ person_key('payment_lines.id_number') }}
            else {{ unknown_skey() }}
        end as person_key,
        coalesce(schools.school_key, {{ unknown_skey() }}) as school_key,
        coalesce(terms.term_code, 'unknown') as term_code,
        coalesce(programs.program_code, 'UNKNOWN') as program_code,
        payment_lines.school_code,
        {{ mask_id('payment_lines.id_number') }} as id_number_masked,
        payment_lines.school_name,
        payment_lines.program_name,
        payment_lines.stage,
        payment_lines.grade,
        payment_lines.hardship_type as declared_hardship_type,
        payment_lines.hardship_type_code as declared_hardship_type_code,
        payment_lines.payment_method,
        payment_lines.batch_id,
        payment_lines.source_file,
        payment_lines.source_sheet,
        payment_lines.source_file_sha256,
        payment_lines.amount_yuan,
        payment_lines.source_row,
        payment_lines.is_refund,
        payment_lines.is_id_valid,
        payment_lines.is_amount_parsed,
        payment_lines.is_paid_on_parsed,
        payment_lines.paid_on
    from payment_lines
    left join schools on payment_lines.school_code = schools.school_code
    left join programs on payment_lines.program_code = programs.program_code
    left join terms on payment_lines.term_code = terms.term_code

)

select * from final
