-- RESTRICTED (auditors only): each finding's payment lines, with their source file and
-- row, so that an auditor follows a finding back to the line of the export.
with

{{ import_ctes([
    ('findings', 'fct_audit_finding'),
    ('lines', 'fct_disbursement'),
]) }},

wanted as (

    select distinct
        finding_key,
        unnest(disbursement_keys) as disbursement_key
    from findings

),

final as (

    select
        wanted.finding_key,
        lines.*
    from wanted
    inner join lines on wanted.disbursement_key = lines.disbursement_key

)

select * from final  -- noqa: AM04
order by finding_key, disbursement_key
