-- One row per referral, with the flags the indicator catalogue counts: re-referral within 12
-- months, assessment timescale in working days, second or later child protection plan.
with referrals as (
    select * from stg_referrals
),

calendar as (
    select calendar_date, working_day_index from calendar
),

with_history as (
    select
        *,
        lag(referral_date) over (
            partition by child_key order by referral_date, referral_key
        ) as previous_referral_date
    from referrals
),

final as (
    select
        r.referral_key,
        r.child_key,
        r.locality,
        r.age_at_referral,
        case
            when r.age_at_referral < 1 then 'Under 1'
            when r.age_at_referral < 5 then '1 to 4'
            when r.age_at_referral < 10 then '5 to 9'
            when r.age_at_referral < 16 then '10 to 15'
            else '16 to 17'
        end as age_band,
        r.sex,
        r.ethnicity,
        r.referral_date,
        r.referral_source,
        r.primary_need_code,
        r.referral_nfa = 'Y' as is_nfa,
        -- A referral exactly 12 months after the previous one counts as a re-referral.
        coalesce(r.previous_referral_date >= r.referral_date - interval 12 month, false) as is_rereferral_12m,
        r.previous_referral_date,
        r.assessment_start_date,
        r.assessment_authorised_date,
        -- Working days after the referral up to and including authorisation: the referral day is day 0.
        done.working_day_index - referred.working_day_index as assessment_working_days,
        done.working_day_index - referred.working_day_index <= 45 as assessment_within_45,
        r.s47_start_date,
        r.cpp_start_date,
        r.cpp_end_date,
        r.cpp_category,
        r.cpp_previous_plans,
        r.cpp_start_date is not null and coalesce(r.cpp_previous_plans, 0) >= 1 as is_second_cpp,
        r.cla_start_date,
        r.cla_end_date,
        r.closure_date,
        r.closure_reason
    from with_history as r
    left join calendar as referred on referred.calendar_date = r.referral_date
    left join calendar as done on done.calendar_date = r.assessment_authorised_date
)

select * from final
