-- One row per family journey on an instrument: when its first review fell due (12 weeks after the
-- first reading) and whether a review reading came within 16 weeks. Journeys whose 16 weeks have not
-- yet run out by the extract date are left out: their outcome is not known yet, and a missing review
-- is never read as "no change".
with readings as (
    select * from mart_family_readings
),

journeys as (
    select
        family_key,
        instrument,
        arg_min(locality, reading_date) as locality,
        arg_min(episode_type, reading_date) as episode_type,
        min(reading_date) as first_reading_date
    from readings
    group by family_key, instrument
),

final as (
    select
        j.family_key,
        j.instrument,
        j.locality,
        j.episode_type,
        j.first_reading_date,
        cast(j.first_reading_date + interval 84 day as date) as review_due_date,
        exists (
            select 1 from readings as r
            where r.family_key = j.family_key
                and r.instrument = j.instrument
                and r.reading_date > j.first_reading_date
                and r.reading_date <= j.first_reading_date + interval 112 day
        ) as reviewed_on_time
    from journeys as j
    where j.first_reading_date + interval 112 day <= (select extract_date from extract_info)
)

select * from final
