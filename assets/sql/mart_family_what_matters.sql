-- One row per theme a family named as what matters most to them at one sitting ("choice" tools in
-- the instrument registry), with the family's locality and episode at the time.
with outcomes as (
    select * from stg_family_outcomes
),

choices as (
    select i.instrument, i.item, i.theme
    from ref_instrument_items as i
    join ref_instruments as t on t.instrument = i.instrument
    where t.kind = 'choice' and i.theme is not null
),

final as (
    select
        o.reading_key,
        o.family_key,
        o.reading_date,
        o.respondent_role,
        o.locality,
        o.episode_type,
        c.theme
    from outcomes as o
    join choices as c on c.instrument = o.instrument and c.item = o.item
    where o.score > 0
)

select * from final
