{#- Every non-null value of the column lies within [low, high] (dbt_utils'
    accepted_range, written here: hub packages are not used). -#}
{% test accepted_range(model, column_name, low, high) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ low }} or {{ column_name }} > {{ high }}

{% endtest %}
