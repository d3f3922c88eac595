{#- One model per finding type of seeds/finding_types.csv, named by it:
    int_finding_<finding_type in lower case>, each with the same columns
    (finding_type, term_code, person_nk, program_code, school_code, amount_yuan,
    disbursement_keys, source_lines, evidence), so this is a plain union; the out-of-
    school children are their own mart (fct_out_of_school_child) and join it below.
    dbt orders models by the refs it sees when it parses, before any seed is loaded,
    so the list is written here; tests/orchestration/test_dagster_dbt_lineage.py
    checks that it is exactly the seed's finding types. -#}
{%- set finding_models = [
    'int_finding_paid_after_death',
    'int_finding_duplicate_payment',
    'int_finding_paid_not_enrolled',
    'int_finding_ineligible_recipient',
    'int_finding_stage_mismatch',
    'int_finding_missed_eligible',
    'int_finding_amount_mismatch',
    'int_finding_duplicate_enrollment',
    'int_finding_identity_conflict',
] -%}
-- One row per finding: finding type × term × person (a person counts once
-- per finding type and term). Pseudonymous: person_key and a masked ID, never
-- the real ID or name. The overlap rules of indicators.md are applied where
-- the findings are made: a line whose ID fails its checksum is only
-- IDENTITY_CONFLICT (every other check reads valid IDs only), and
-- PAID_AFTER_DEATH replaces PAID_NOT_ENROLLED for the same payment line
-- (int_finding_paid_not_enrolled).
with findings as (

    {% for name in finding_models %}
        select
            finding_type,
            term_code,
            {{ person_key('person_nk') }} as person_key,
            {{ mask_id('person_nk') }} as id_number_masked,
            program_code,
            school_code,
            amount_yuan,
            disbursement_keys,
            source_lines,
            evidence
        from {{ ref(name) }}
        union all
    {% endfor %}
    select
        'OUT_OF_SCHOOL_CHILD' as finding_type,
        term_code,
        person_key,
        cast(null as varchar) as id_number_masked,
        cast(null as varchar) as program_code,
        cast(null as varchar) as school_code,
        cast(null as decimal(12, 2)) as amount_yuan,
        cast([] as varchar[]) as disbursement_keys,
        cast(null as varchar) as source_lines,
        '该儿童' || cast(age as varchar) || '岁，户籍在' || township || coalesce(village, '')
        || '，未在学籍中在读，控辍保学台账亦无说明'
        || case when is_hardship then '（家庭经济困难）' else '' end as evidence
    from {{ ref('fct_out_of_school_child') }}

),

finding_types as (select * from {{ ref('finding_types') }}),

terms as (select * from {{ ref('dim_term') }}),

final as (

    select
        {{ gen_skey(['findings.finding_type', 'findings.term_code', 'findings.person_key']) }} as finding_key,
        findings.finding_type,
        findings.term_code,
        findings.person_key,
        findings.id_number_masked,
        findings.program_code,
        findings.school_code,
        finding_types.severity,
        finding_types.finding_name_cn,
        findings.disbursement_keys,
        findings.source_lines,
        findings.evidence,
        finding_types.severity_rank,
        findings.amount_yuan,
        -- 上学期已报、本学期仍存在: the same lead (type and person) in the term before
        coalesce(
            lag(terms.term_idx) over (
                partition by findings.finding_type, findings.person_key order by terms.term_idx
            ) = terms.term_idx - 1,
            false
        ) as is_carried_over
    from findings
    left join finding_types on findings.finding_type = finding_types.finding_type
    left join terms on findings.term_code = terms.term_code

)

select * from final
