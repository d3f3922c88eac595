-- One row per term and programme, and one per term for every programme together
-- (program_code null): the money paid net of refunds, 人次 and 人, from every
-- payment line of fct_disbursement. person_times (人次) = payment lines less
-- refund lines; persons (人) = distinct persons whose net amount in the programme
-- (on the all-programme row: in any programme) is above zero. A line whose ID
-- fails its checksum is a person of its own.
with payment_lines as (select * from {{ ref('fct_disbursement') }}),

per_person as (

    select
        term_code,
        program_code,
        person_key,
        sum(amount_yuan) as net_paid_yuan,
        count(*) filter (where not is_refund) - count(*) filter (where is_refund) as net_lines
    from payment_lines
    group by term_code, program_code, person_key

),

final as (

    {% for program_code in ['program_code', 'cast(null as varchar)'] %}
        select
            term_code,
            {{ program_code }} as program_code,
            cast(sum(net_paid_yuan) as decimal(18, 2)) as net_paid_yuan,
            sum(net_lines) as person_times,
            count(distinct person_key) filter (where net_paid_yuan > 0) as persons
        from per_person
        group by term_code{{ ', program_code' if loop.first }}
        {% if loop.first %}union all{% endif %}
    {% endfor %}

)

select * from final
