-- One row per child (or family), instrument with score bands (the SDQ), rater and period (month and
-- reporting year) with a follow-up reading in the period: the band of the first reading and of the
-- latest reading in the period, on the rater's own band scheme. Children whose first reading was in
-- the high-difficulty band and whose latest is not have moved out of it.
with readings as (
    select * from mart_family_readings where headline_score is not null
),

bands as (
    select * from ref_instrument_bands
),

journeys as (
    select
        r.*,
        coalesce(r.child_key, '') as child_part,
        first_value(r.headline_score) over journey as first_score,
        first_value(r.reading_date) over journey as first_reading_date,
        row_number() over journey as reading_number
    from readings as r
    where r.instrument in (select instrument from bands)
    window journey as (
        partition by r.family_key, coalesce(r.child_key, ''), r.instrument, r.respondent_role
        order by r.reading_date, r.reading_key
    )
),

in_periods as (
    select *, 'month' as period_type, date_trunc('month', reading_date) as period_start
    from journeys where reading_number > 1
    union all
    select *, 'reporting_year' as period_type, make_date(year(reading_date - interval 3 month), 4, 1) as period_start
    from journeys where reading_number > 1
),

latest as (
    select *
    from in_periods
    qualify row_number() over (
        partition by family_key, child_part, instrument, respondent_role, period_type, period_start
        order by reading_date desc, reading_key desc
    ) = 1
),

-- A band is a whole-point range; a fractional score between two bands goes to the upper one.
final as (
    select
        l.family_key,
        l.child_key,
        l.instrument,
        l.respondent_role,
        l.locality,
        l.episode_type,
        l.period_type,
        cast(l.period_start as date) as period_start,
        l.first_reading_date,
        l.first_score,
        l.reading_date,
        l.headline_score as latest_score,
        (select b.band from bands as b
         where b.instrument = l.instrument and b.respondent_role = l.respondent_role
             and l.first_score <= b.band_max order by b.band_min limit 1) as first_band,
        (select b.band from bands as b
         where b.instrument = l.instrument and b.respondent_role = l.respondent_role
             and l.headline_score <= b.band_max order by b.band_min limit 1) as latest_band,
        coalesce((select b.is_high from bands as b
         where b.instrument = l.instrument and b.respondent_role = l.respondent_role
             and l.first_score <= b.band_max order by b.band_min limit 1), false) as first_high,
        coalesce((select b.is_high from bands as b
         where b.instrument = l.instrument and b.respondent_role = l.respondent_role
             and l.headline_score <= b.band_max order by b.band_min limit 1), false) as latest_high
    from latest as l
)

select * from final
