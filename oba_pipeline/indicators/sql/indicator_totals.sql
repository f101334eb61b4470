-- Numerators and denominators of a batch of catalogue entries that read the same mart into the same
-- periods, for every period of one type, for each locality and for the whole authority (the grouping
-- set without locality).
-- Placeholders in braces are filled from the indicator catalogue (trusted configuration in the
-- repository); values are bound parameters.
with periods as (
    select period_start, period_end from periods
    where period_type = $period_type
        -- a refresh that recomputes only some periods binds their starts; null means every period
        and ($period_starts::date[] is null or list_contains($period_starts::date[], period_start))
),

facts as (
    select * from {table}
),

final as (
    select
        p.period_start,
        grouping(f.locality) = 1 as is_authority,
        f.locality,
        {aggregates}
    from periods as p
    join facts as f on {in_period}
    group by grouping sets ((p.period_start, f.locality), (p.period_start))
)

select * from final
