select
    id as customer_id,
    first_name,
    last_name,
    segment
from {{ ref('customers') }}
