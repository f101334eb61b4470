-- Numerators and denominators of catalogue entries that read the same mart into the same months (see
-- indicator_totals.sql), per group of one breakdown, summed over the months of the year before
-- (`before`) and the latest year (`after`), for each locality and the whole authority.
-- Placeholders in braces come from the indicator catalogue (trusted configuration); values are bound.
with periods as (
    select
        period_start,
        period_end,
        case when period_start < $after_from then 'before' else 'after' end as "window"
    from periods
    where period_type = 'month' and period_start between $before_from and $after_to
),

facts as (
    select * from {table}
),

by_month as (
    select
        p."window",
        p.period_start,
        grouping(f.locality) = 1 as is_authority,
        f.locality,
        cast(f.{dimension} as varchar) as group_value,
        {aggregates}
    from periods as p
    join facts as f on {in_period}
    group by grouping sets (
        (p."window", p.period_start, f.locality, f.{dimension}),
        (p."window", p.period_start, f.{dimension})
    )
),

final as (
    select
        "window",
        case when is_authority then (select area_code from areas where area_type = 'authority') else locality end
            as area_code,
        group_value,
        {sums}
    from by_month
    group by all
)

select * from final
order by "window", area_code, group_value
