-- How many distinct keys (children) one stock entry counts at the end of every period of one type, for
-- each locality and for the whole authority, without joining every period to every row.
-- A key's spans (start to end, the entry's filter applied) are merged where they overlap or touch,
-- separately per locality and across the authority, so each key has at most one span open on any day;
-- the count at a period end is then the spans started by then minus the spans ended by then.
-- Placeholders in braces are filled from the indicator catalogue (trusted configuration in the
-- repository); values are bound parameters.
with periods as (
    select period_start, period_end from periods
    where period_type = $period_type
        -- a refresh that recomputes only some periods binds their starts; null means every period
        and ($period_starts::date[] is null or list_contains($period_starts::date[], period_start))
),

spans as (
    select f.locality, f.{column} as key, f.{start} as span_start, coalesce(f.{end}, {open_end}) as span_end
    from {table} as f
    -- a span ending on or before its start is open at no period end
    where f.{column} is not null and f.{start} < coalesce(f.{end}, {open_end}) and ({where})
),

levels as (
    select false as is_authority, locality, key, span_start, span_end from spans
    union all
    select true as is_authority, '' as locality, key, span_start, span_end from spans
),

starts as (
    select
        *,
        coalesce(span_start > max(span_end) over (
            partition by is_authority, locality, key order by span_start, span_end
            rows between unbounded preceding and 1 preceding
        ), true) as starts_island
    from levels
),

islands as (
    select
        *,
        sum(cast(starts_island as integer)) over (
            partition by is_authority, locality, key order by span_start, span_end rows unbounded preceding
        ) as island
    from starts
),

merged as (
    select is_authority, locality, min(span_start) as span_start, max(span_end) as span_end
    from islands
    group by is_authority, locality, key, island
),

changes as (
    select is_authority, locality, span_start as day, 1 as change from merged
    union all
    select is_authority, locality, span_end as day, -1 as change from merged
),

running as (
    select
        is_authority,
        locality,
        day,
        sum(sum(change)) over (partition by is_authority, locality order by day) as open_keys
    from changes
    group by is_authority, locality, day
),

areas as (
    select distinct is_authority, locality from running
),

final as (
    select
        p.period_start,
        a.is_authority,
        case when a.is_authority then null else a.locality end as locality,
        cast(r.open_keys as double) as a0
    from areas as a
    cross join periods as p
    asof join running as r
        on r.is_authority = a.is_authority and r.locality = a.locality and r.day <= p.period_end
)

select * from final
