{#- The finding models: every one has the same columns (finding_type,
    term_code, person_nk, program_code, school_code, amount_yuan,
    disbursement_keys, source_lines, evidence), so this is a plain union.

    The optional ones are written elsewhere and may not exist yet. dbt orders
    models by the refs it sees when it parses, before it knows which models
    exist, so a model found only at run time (graph lookup) cannot be ordered
    before this one. An optional model is therefore used once it exists in the
    project AND this file declares it with a hint line at the top, e.g.
        -- depends_on: {{ ref('int_finding_missed_eligible') }}
    A model that exists but is not declared is left out with a warning. -#}
-- depends_on: {{ ref('int_finding_missed_eligible') }}
-- depends_on: {{ ref('int_finding_ineligible_recipient') }}
-- depends_on: {{ ref('fct_out_of_school_child') }}
{%- set finding_models = [
    'int_finding_paid_after_death',
    'int_finding_duplicate_payment',
    'int_finding_paid_not_enrolled',
    'int_finding_stage_mismatch',
    'int_finding_amount_mismatch',
    'int_finding_duplicate_enrollment',
    'int_finding_identity_conflict',
] -%}
{%- set optional_finding_models = ['int_finding_missed_eligible', 'int_finding_ineligible_recipient'] -%}
{%- set out_of_school_model = 'fct_out_of_school_child' -%}
{%- set present = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model'
            and node.name in optional_finding_models + [out_of_school_model] -%}
            {%- if node.unique_id in model.depends_on.nodes -%}
                {%- do present.append(node.name) -%}
            {%- else -%}
                {%- do exceptions.warn(
                    "fct_audit_finding leaves out " ~ node.name ~ ": declare it at the top of "
                    ~ "fct_audit_finding.sql with  -- depends_on: {{ ref('" ~ node.name ~ "') }}"
                ) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
-- One row per finding: finding type × term × person (a person counts once
-- per finding type and term). Pseudonymous: person_key and a masked ID, never
-- the real ID or name. The overlap rules of indicators.md are applied where
-- the findings are made: a line whose ID fails its checksum is only
-- IDENTITY_CONFLICT (every other check reads valid IDs only), and
-- PAID_AFTER_DEATH replaces PAID_NOT_ENROLLED for the same payment line
-- (int_finding_paid_not_enrolled).
with

findings as (

    {% for name in finding_models + (optional_finding_models | select('in', present) | list) %}
        select
            finding_type,
            term_code,
            person_nk,
            program_code,
            school_code,
            amount_yuan,
            disbursement_keys,
            source_lines,
            evidence
        from {{ ref(name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

keyed as (

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
    from findings
    {%- if out_of_school_model in present %}
        union all
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
        from {{ ref(out_of_school_model) }}
    {%- endif %}

),

finding_types as (

    select * from {{ ref('finding_types') }}

),

final as (

    select
        {{ gen_skey(['keyed.finding_type', 'keyed.term_code', 'keyed.person_key']) }} as finding_key,
        keyed.finding_type,
        keyed.term_code,
        keyed.person_key,
        keyed.id_number_masked,
        keyed.program_code,
        keyed.school_code,
        finding_types.severity,
        finding_types.finding_name_cn,
        keyed.disbursement_keys,
        keyed.source_lines,
        keyed.evidence,
        finding_types.severity_rank,
        keyed.amount_yuan
    from keyed
    left join finding_types
        on keyed.finding_type = finding_types.finding_type

)

select * from final
