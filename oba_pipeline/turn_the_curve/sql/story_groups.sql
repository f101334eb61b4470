-- Numerators and denominators of catalogue entries that read the same mart into the same months (see
-- indicator_totals.sql), per group of every breakdown asked for, summed over the months of the year before
-- (`before`) and the latest year (`after`), for each locality and the whole authority. Rows are placed in
-- months once, and every breakdown is a grouping set of that one join.
-- Each breakdown is grouped on its own copy of the column (`_group_<n>`): grouped on `locality` itself,
-- the authority's split by locality would be the same grouping set as the localities' own totals.
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
    select *, {group_columns} from {table}
),

by_month as (
    select
        p."window",
        p.period_start,
        grouping(f.locality) = 1 as is_authority,
        f.locality,
        case {dimension_names} end as dimension,
        case {group_values} end as group_value,
        {aggregates}
    from periods as p
    join facts as f on {in_period}
    group by grouping sets ({grouping_sets})
),

final as (
    select
        "window",
        case when is_authority then (select area_code from areas where area_type = 'authority') else locality end
            as area_code,
        dimension,
        group_value,
        {sums}
    from by_month
    group by all
)

select * from final
order by dimension, "window", area_code, group_value
