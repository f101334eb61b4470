-- One row per family journey on an instrument and rater: when its first review fell due (the
-- registry's review.due_days after the first reading, 12 weeks for Family Star Plus) and whether a
-- review reading by the same rater came within review.allowed_days (16 weeks for Family Star Plus).
-- Journeys whose allowed days have not yet run out by the extract date are left out: their outcome
-- is not known yet, and a missing review is never read as "no change".
with readings as (
    select * from mart_family_readings
),

instruments as (
    select instrument, kind, review_due_days, review_allowed_days from ref_instruments
),

journeys as (
    select
        family_key,
        coalesce(child_key, '') as child_part,
        instrument,
        respondent_role,
        arg_min(locality, reading_date) as locality,
        arg_min(episode_type, reading_date) as episode_type,
        min(reading_date) as first_reading_date
    from readings
    group by family_key, coalesce(child_key, ''), instrument, respondent_role
),

final as (
    select
        j.family_key,
        j.instrument,
        j.respondent_role,
        j.respondent_role in ('parent', 'child', 'carer') as is_family_rater,
        j.locality,
        j.episode_type,
        j.first_reading_date,
        cast(j.first_reading_date + to_days(i.review_due_days) as date) as review_due_date,
        cast(j.first_reading_date + to_days(i.review_allowed_days) as date) as review_allowed_date,
        exists (
            select 1 from readings as r
            where r.family_key = j.family_key
                and coalesce(r.child_key, '') = j.child_part
                and r.instrument = j.instrument
                and r.respondent_role = j.respondent_role
                and r.reading_date > j.first_reading_date
                and r.reading_date <= j.first_reading_date + to_days(i.review_allowed_days)
        ) as reviewed_on_time
    from journeys as j
    join instruments as i on i.instrument = j.instrument
    where i.kind = 'score'
        and j.first_reading_date + to_days(i.review_allowed_days) <= (select extract_date from extract_info)
)

select * from final
