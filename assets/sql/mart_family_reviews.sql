-- One row per follow-up reading: how far the family's headline score has moved since their first
-- reading on the same instrument and rater, and whether that move is a reliable improvement.
with readings as (
    select * from mart_family_readings where headline_score is not null
),

instruments as (
    select instrument, direction, reliable_change from ref_instruments
),

sequenced as (
    select
        r.*,
        first_value(r.headline_score) over journey as first_score,
        first_value(r.reading_date) over journey as first_reading_date,
        row_number() over journey as reading_number
    from readings as r
    window journey as (
        partition by r.family_key, r.instrument, r.respondent_role
        order by r.reading_date, r.reading_key
    )
),

reviews as (
    select
        s.*,
        -- Positive change is improvement whichever way round the instrument is scored.
        (s.headline_score - s.first_score) * case when i.direction = 'lower_is_better' then -1 else 1 end
            as improvement,
        i.reliable_change
    from sequenced as s
    join instruments as i on i.instrument = s.instrument
    where s.reading_number > 1
),

final as (
    select
        reading_key,
        family_key,
        child_key,
        instrument,
        respondent_role,
        locality,
        episode_type,
        first_reading_date,
        first_score,
        reading_date,
        headline_score,
        improvement,
        improvement >= reliable_change as reliable_improvement,
        row_number() over (
            partition by family_key, instrument, respondent_role, date_trunc('month', reading_date)
            order by reading_date desc, reading_key desc
        ) = 1 as is_latest_in_month,
        row_number() over (
            partition by family_key, instrument, respondent_role,
                year(reading_date - interval 3 month)
            order by reading_date desc, reading_key desc
        ) = 1 as is_latest_in_reporting_year
    from reviews
)

select * from final
