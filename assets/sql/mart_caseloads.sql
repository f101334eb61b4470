-- One row per worker per month-end snapshot, marking the staff who hold cases.
with caseloads as (
    select * from stg_caseloads
),

final as (
    select
        snapshot_date,
        worker_key,
        team,
        locality,
        role,
        fte,
        cases_held,
        role in ('social_worker', 'senior_practitioner') as is_case_holding
    from caseloads
)

select * from final
