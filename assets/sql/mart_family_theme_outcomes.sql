-- One row per family, outcome theme and period (month and reporting year) in which the family had a
-- follow-up reading on a family-rated tool that speaks to the theme: how the family's theme score
-- moved from its first reading to its latest reading in the period.
--
-- A theme score is the mean of the family's scores on the instrument's areas mapped to the theme
-- (instrument registry); a move of at least the instrument's item reliable-change threshold, in the
-- instrument's good direction, is reliable. One family may speak to a theme through several tools
-- and raters (parent and child): it is "improved" when at least one improved reliably and none got
-- reliably worse, "worsened" in the mirror case, "mixed" when both happened. Only families with a
-- follow-up are here: a missing follow-up is never read as no change (see mart_family_engagement).
with outcomes as (
    select * from stg_family_outcomes
    where respondent_role in ('parent', 'child', 'carer')
),

items as (
    select instrument, item, theme from ref_instrument_items where theme is not null
),

instruments as (
    select instrument, direction, item_reliable_change from ref_instruments where kind = 'score'
),

conversions as (
    select * from ref_instrument_conversions
),

theme_scores as (
    select
        o.reading_key,
        any_value(o.family_key) as family_key,
        coalesce(any_value(o.child_key), '') as child_part,
        any_value(o.reading_date) as reading_date,
        o.instrument,
        any_value(o.respondent_role) as respondent_role,
        any_value(o.locality) as locality,
        any_value(o.episode_type) as episode_type,
        i.theme,
        avg(coalesce(c.converted_score, o.score)) as theme_score
    from outcomes as o
    join items as i on i.instrument = o.instrument and i.item = o.item
    left join conversions as c on c.instrument = o.instrument and c.raw_score = o.score
    group by o.reading_key, o.instrument, i.theme
),

journeys as (
    select
        s.*,
        first_value(s.theme_score) over journey as first_score,
        first_value(s.reading_date) over journey as first_reading_date,
        row_number() over journey as reading_number
    from theme_scores as s
    window journey as (
        partition by s.family_key, s.child_part, s.instrument, s.respondent_role, s.theme
        order by s.reading_date, s.reading_key
    )
),

follow_ups as (
    select
        j.*,
        (j.theme_score - j.first_score) * case when i.direction = 'lower_is_better' then -1 else 1 end
            as improvement,
        i.item_reliable_change
    from journeys as j
    join instruments as i on i.instrument = j.instrument
    where j.reading_number > 1
),

in_periods as (
    select *, 'month' as period_type, date_trunc('month', reading_date) as period_start from follow_ups
    union all
    select *, 'reporting_year' as period_type,
        make_date(year(reading_date - interval 3 month), 4, 1) as period_start
    from follow_ups
),

latest_per_journey as (
    select *
    from in_periods
    qualify row_number() over (
        partition by family_key, child_part, instrument, respondent_role, theme, period_type, period_start
        order by reading_date desc, reading_key desc
    ) = 1
),

final as (
    select
        family_key,
        theme,
        period_type,
        cast(period_start as date) as period_start,
        max(reading_date) as reading_date,
        arg_max(locality, reading_date) as locality,
        arg_max(episode_type, reading_date) as episode_type,
        count(*) as journeys,
        bool_or(improvement >= item_reliable_change - 1e-9) as any_improved,
        bool_or(improvement <= -item_reliable_change + 1e-9) as any_worsened,
        case
            when bool_or(improvement >= item_reliable_change - 1e-9)
                and bool_or(improvement <= -item_reliable_change + 1e-9) then 'mixed'
            when bool_or(improvement >= item_reliable_change - 1e-9) then 'improved'
            when bool_or(improvement <= -item_reliable_change + 1e-9) then 'worsened'
            else 'no reliable change'
        end as outcome
    from latest_per_journey
    group by family_key, theme, period_type, period_start
)

select * from final
