-- Every published measure, authority and year beside its comparators: England, the authority's region,
-- the mean and median of its statistical neighbours (one named model), its rank among all authorities
-- and its quartile band. Inputs are registered by oba_pipeline/benchmarks/comparators.py.
with

measure_values as (select * from bm_measure_values),
measures as (select * from bm_measures),
authorities as (select * from bm_authorities),
neighbours as (select * from bm_model_neighbours),

authority_values as (
    select
        v.measure_id, v.year, v.period_label, v.area_code,
        coalesce(a.area_name, v.area_name) as area_name,
        coalesce(v.region_code, a.region_code) as region_code,
        coalesce(v.region_name, a.region_name) as region_name,
        v.value, v.status, v.value_basis, v."check", v.note
    from measure_values as v
    left join authorities as a using (area_code)
    where v.level = 'authority'
),

england as (
    select measure_id, year, value as england_value, status as england_status
    from measure_values
    where level = 'national'
),

region as (
    select measure_id, year, area_code as region_code, value as region_value, status as region_status
    from measure_values
    where level = 'regional'
),

neighbour_figures as (
    select
        n.area_code, v.measure_id, v.year,
        -- averaged in a fixed order, so the same figures give the same mean to the last digit on every run
        avg(v.value order by v.value) as neighbours_mean,
        median(v.value) as neighbours_median,
        count(v.value) as neighbours_with_figures
    from neighbours as n
    inner join authority_values as v on v.area_code = n.neighbour_code and v.status = 'ok'
    group by n.area_code, v.measure_id, v.year
),

ranked as (
    select
        v.measure_id, v.year, v.area_code,
        rank() over (
            partition by v.measure_id, v.year
            order by case when m.polarity = 'higher_is_better' then -v.value else v.value end
        ) as rank,
        count(*) over (partition by v.measure_id, v.year) as ranked_authorities
    from authority_values as v
    inner join measures as m using (measure_id)
    where v.status = 'ok'
),

final as (
    select
        v.measure_id,
        m.name as measure_name,
        m.polarity,
        m.unit,
        m.decimals,
        m.local_indicator_id,
        v.year,
        v.period_label,
        v.area_code,
        v.area_name,
        v.region_code,
        v.region_name,
        v.value,
        v.status,
        v.value_basis,
        v."check",
        v.note,
        e.england_value,
        e.england_status,
        r.region_value,
        r.region_status,
        $model as neighbour_model,
        $model_name as neighbour_model_name,
        -- Two decimal places more than the measure: exact for a median of published figures, and
        -- free of binary noise (590.2000000001) in exports.
        round(nf.neighbours_mean, cast(m.decimals + 2 as integer)) as neighbours_mean,
        round(nf.neighbours_median, cast(m.decimals + 2 as integer)) as neighbours_median,
        coalesce(nf.neighbours_with_figures, 0) as neighbours_with_figures,
        round(v.value - nf.neighbours_median, cast(m.decimals + 2 as integer)) as difference_from_neighbours_median,
        k.rank,
        k.ranked_authorities,
        cast(ceil(4.0 * k.rank / k.ranked_authorities) as bigint) as quartile
    from authority_values as v
    inner join measures as m using (measure_id)
    left join england as e using (measure_id, year)
    left join region as r using (measure_id, year, region_code)
    left join neighbour_figures as nf using (measure_id, year, area_code)
    left join ranked as k using (measure_id, year, area_code)
)

select * from final
order by measure_id, year, area_code
