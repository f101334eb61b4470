-- One row per ledger line per month, classed as prevention, late intervention or other by the
-- longest matching Section 251 prefix in oba_pipeline/catalogue/spend_lines.yaml.
with spend as (
    select * from stg_spend
),

classes as (
    select prefix, spend_class from ref_spend_lines
),

matched as (
    select
        s.*,
        c.spend_class,
        row_number() over (
            partition by s.period_month, s.cost_centre, s.s251_line
            order by length(c.prefix) desc nulls last
        ) as match_rank
    from spend as s
    left join classes as c
        on s.s251_line = c.prefix or starts_with(s.s251_line, c.prefix || '.')
),

final as (
    select
        period_month,
        cost_centre,
        locality,
        s251_line,
        s251_description,
        coalesce(spend_class, (select default_class from ref_spend_default)) as spend_class,
        amount_gbp
    from matched
    where match_rank = 1
)

select * from final
