-- One row per pair of ratings of the same family (and child) on the same tool on the same day by a
-- family rater and a professional (a parent and a worker on the safety scale; a carer and a teacher,
-- or a young person and their carer, on the SDQ). The gap is how much better the first rater sees
-- things than the second, in the tool's good direction: positive when the family rates the situation
-- better than the professional. Gaps are kept as their own measure, never averaged away.
with readings as (
    select * from mart_family_readings where headline_score is not null
),

instruments as (
    select instrument, direction from ref_instruments
),

pairs as (
    select
        a.family_key,
        a.instrument,
        a.respondent_role as rater,
        b.respondent_role as other_rater,
        a.locality,
        a.episode_type,
        a.reading_date,
        a.headline_score as rater_score,
        b.headline_score as other_score
    from readings as a
    join readings as b
        on b.family_key = a.family_key
        and coalesce(b.child_key, '') = coalesce(a.child_key, '')
        and b.instrument = a.instrument
        and b.reading_date = a.reading_date
        and b.reading_key <> a.reading_key
    where (a.respondent_role in ('parent', 'carer') and b.respondent_role in ('worker', 'teacher'))
        or (a.respondent_role = 'child' and b.respondent_role in ('parent', 'carer', 'worker', 'teacher'))
),

final as (
    select
        p.family_key,
        p.instrument,
        p.rater,
        p.other_rater,
        p.rater || '_vs_' || p.other_rater as rater_pair,
        p.locality,
        p.episode_type,
        p.reading_date,
        p.rater_score,
        p.other_score,
        (p.rater_score - p.other_score) * case when i.direction = 'lower_is_better' then -1 else 1 end as gap
    from pairs as p
    join instruments as i on i.instrument = p.instrument
)

select * from final
