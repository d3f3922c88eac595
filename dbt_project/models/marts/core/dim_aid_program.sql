-- One row per aid programme (seed aid_programs), with the standard amounts in
-- force as a list, plus the unknown member. The versioned standards themselves
-- are dim_aid_standard.
with programs as (select * from {{ ref('aid_programs') }}),

standards as (

    select
        program_code,
        string_agg(
            stage || coalesce('/' || nullif(variant, ''), '') || ' ' || valid_from_term || ': '
            || cast(amount_yuan as varchar),
            '; ' order by stage, variant, valid_from_term
        ) as standards_summary
    from {{ ref('aid_standards') }}
    group by program_code

),

final as (

    select
        programs.program_code,
        programs.program_name,
        programs.stages as covered_stages,
        programs.paid_by,
        standards.standards_summary,
        programs.is_entitlement,
        programs.is_hardship_only,
        programs.is_on_application,
        programs.is_university
    from programs
    left join standards on programs.program_code = standards.program_code
    union all
    select
        'UNKNOWN' as program_code,
        '未知项目' as program_name,
        cast(null as varchar) as covered_stages,
        cast(null as varchar) as paid_by,
        cast(null as varchar) as standards_summary,
        false as is_entitlement,
        false as is_hardship_only,
        false as is_on_application,
        false as is_university

)

select * from final
