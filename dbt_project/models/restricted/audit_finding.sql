-- RESTRICTED (auditors only, published to audit.duckdb, never to analytics.duckdb):
-- every finding of marts.fct_audit_finding re-identified, with the real ID number and
-- name, and the school's and programme's names for the auditors' workbook. A person
-- known only to the population register (an out-of-school child) is named by their
-- newest resident row.
with

{{ import_ctes([
    ('findings', 'fct_audit_finding'),
    ('persons', 'int_persons_unified'),
]) }},

-- the persons of findings whom no registry but the population register knows: only
-- they are looked up among the residents (a province has tens of millions of them)
unknown_to_registries as (

    select distinct findings.person_key
    from findings
    anti join persons
        on findings.person_key = persons.person_key

),

residents as (

    select
        keyed.person_key,
        arg_max(population.id_number, keyed.snapshot_on) as id_number,
        arg_max(population.person_name, keyed.snapshot_on) as person_name
    from {{ ref('int_population_residents_keyed') }} as keyed
    inner join unknown_to_registries on keyed.person_key = unknown_to_registries.person_key
    inner join {{ ref('stg_population__residents') }} as population
        on keyed.resident_row_key = population.resident_row_key
    group by keyed.person_key

),

{{ import_ctes([
    ('schools', 'dim_school'),
    ('programs', 'dim_aid_program'),
]) }},

final as (

    select
        findings.*,
        coalesce(persons.id_number, persons.person_nk, residents.id_number) as id_number,
        coalesce(persons.person_name, residents.person_name) as person_name,
        schools.school_name,
        programs.program_name
    from findings
    left join persons on findings.person_key = persons.person_key
    left join residents on findings.person_key = residents.person_key and persons.person_key is null
    left join schools on findings.school_code = schools.school_code
    left join programs on findings.program_code = programs.program_code

)

select * from final  -- noqa: AM04
order by finding_type, term_code, finding_key
