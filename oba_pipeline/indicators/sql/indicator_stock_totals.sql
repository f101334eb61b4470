-- How many distinct keys (children) one stock entry counts at the end of every period of the given types,
-- for each locality and for the whole authority, without joining every period to every row.
-- A key may have spans (start to end, the entry's filter applied) that overlap or touch: sorted by start,
-- each span adds only the days past the furthest end of the key's earlier spans, so the pieces are
-- disjoint and a key is counted once on any day, separately per locality and across the authority. The
-- count at a period end is then the pieces started by then minus the pieces ended by then, worked out once
-- and read at the end of every period of every type asked for.
-- Placeholders in braces are filled from the indicator catalogue (trusted configuration in the
-- repository); values are bound parameters.
with periods as (
    select period_type, period_start, period_end from periods
    where list_contains($period_types::varchar[], period_type)
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

reach as (
    select
        *,
        -- the furthest any earlier span of the same key (in the same area) reached
        max(span_end) over (
            partition by is_authority, locality, key order by span_start, span_end
            rows between unbounded preceding and 1 preceding
        ) as reached
    from levels
),

pieces as (
    -- a span inside the key's earlier ones adds nothing; one reaching past them adds the days after
    select is_authority, locality, greatest(span_start, coalesce(reached, span_start)) as piece_start, span_end
    from reach
    where reached is null or span_end > reached
),

changes as (
    -- a piece starting the day another ends cancels out: the key stays counted
    select is_authority, locality, piece_start as day, 1 as change from pieces
    union all
    select is_authority, locality, span_end as day, -1 as change from pieces
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
        p.period_type,
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
