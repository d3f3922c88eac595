-- IDENTITY_CONFLICT (medium), two kinds of payment line:
-- - checksum: the ID on the line fails its GB 11643 checksum. The line is
--   matched to nobody (person_nk is the ID as normalised) and takes part in
--   no other check;
-- - name: the name on the line is none of the names the registries (学籍,
--   population register, poverty registry) give for its ID, where at least
--   one registry knows the ID.
-- The evidence names neither the person nor the ID in full (the real name and
-- ID are in the restricted audit output).
with payment_lines as (

    select * from {{ ref('int_payment_lines_joined_to_enrollments') }}
    where person_nk is not null

),

registry_names as (

    select
        person_nk,
        person_name
    from {{ ref('int_enrollment_rows_linked_to_persons') }}
    where person_name is not null
    union
    select
        id_number as person_nk,
        person_name
    from {{ ref('stg_population__residents') }}
    where is_id_valid and person_name is not null
    union
    select
        id_number as person_nk,
        person_name
    from {{ ref('stg_households__members') }}
    where is_id_valid and person_name is not null

),

known_ids as (

    select distinct person_nk from registry_names

),

invalid_id_lines as (

    select
        *,
        '身份证号' || coalesce({{ mask_id('person_nk') }}, '（' || cast(length(person_nk) as varchar) || '位）')
        || '校验位错误，无法匹配到任何学生' as conflict_text
    from payment_lines
    where not is_id_valid

),

name_conflict_lines as (

    select
        *,
        '发放名单上的姓名与该身份证号在学籍、户籍或建档立卡中登记的姓名不一致' as conflict_text
    from payment_lines
    where
        is_id_valid
        and person_name is not null
        and person_nk in (select known_ids.person_nk from known_ids)
        and not exists (
            select 1 from registry_names
            where
                registry_names.person_nk = payment_lines.person_nk
                and registry_names.person_name = payment_lines.person_name
        )

),

conflicting_lines as (

    select * from invalid_id_lines
    union all
    select * from name_conflict_lines

),

final as (

    select
        'IDENTITY_CONFLICT' as finding_type,
        term_code,
        person_nk,
        {{ finding_payment_columns() }},
        min(conflict_text) || '：' || min(term_label)
        || string_agg(
            program_name || printf('%.2f', amount_yuan) || '元', '、' order by source_file, source_sheet, source_row
        ) as evidence
    from conflicting_lines
    group by term_code, person_nk

)

select * from final
