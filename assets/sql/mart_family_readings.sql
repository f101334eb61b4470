-- One row per completed reading (one sitting of one instrument), with its headline score from the
-- instrument registry (the mean of the scored areas, or one named item, converted through the
-- registry's raw-to-metric table where it has one, as SWEMWBS does).
with outcomes as (
    select * from stg_family_outcomes
),

instruments as (
    select * from ref_instruments
),

conversions as (
    select * from ref_instrument_conversions
),

sittings as (
    select
        o.reading_key,
        any_value(o.family_key) as family_key,
        any_value(o.child_key) as child_key,
        any_value(o.reading_date) as reading_date,
        o.instrument,
        any_value(o.respondent_role) as respondent_role,
        any_value(o.worker_key) as worker_key,
        any_value(o.locality) as locality,
        any_value(o.episode_type) as episode_type,
        avg(o.score) filter (where i.headline_method = 'mean' and list_contains(i.items, o.item)) as mean_score,
        max(o.score) filter (where i.headline_method = 'item' and o.item = i.headline_item) as item_score
    from outcomes as o
    left join instruments as i on i.instrument = o.instrument
    group by o.reading_key, o.instrument
),

final as (
    select
        s.reading_key,
        s.family_key,
        s.child_key,
        s.reading_date,
        s.instrument,
        s.respondent_role,
        s.worker_key,
        s.locality,
        s.episode_type,
        coalesce(s.mean_score, c.converted_score, s.item_score) as headline_score
    from sittings as s
    left join conversions as c on c.instrument = s.instrument and c.raw_score = s.item_score
)

select * from final
