"""The generator's own check of what it produced: headline rates and planted changes, as realised.

These figures are computed from the clean extracts (before the deliberate mess) with simple, written
down definitions that follow DfE conventions. They go into ground_truth.yaml so a reader can see the
data is in a realistic range and that each planted change is really in the data. They are not the
pipeline's indicator definitions; the pipeline computes its own.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

import numpy as np
import polars as pl

from oba_pipeline.generate.calendar import Window, add_months, fy_start_year_of

STAR = "family_star_plus"
RELIABLE_STAR_CHANGE = 1.0  # mean over the ten areas (see the instrument registry)


def _num(value: object) -> float:
    """A polars scalar (sum, mean) as a float; NaN when there was nothing to aggregate."""
    return float("nan") if value is None else float(cast(float, value))


def _pct(flags: pl.Series) -> float:
    return _num(flags.cast(pl.Float64).mean()) * 100


def _ratio(numerator: pl.Series, denominator: pl.Series) -> float:
    return _num(numerator.sum()) / _num(denominator.sum())


def _dates(frame: pl.DataFrame, *cols: str) -> pl.DataFrame:
    return frame.with_columns([pl.col(c).str.to_date("%Y-%m-%d", strict=False) for c in cols])


def referral_table(referrals: pl.DataFrame, hols: np.ndarray) -> pl.DataFrame:
    """Typed referrals with re-referral and timeliness flags."""
    df = _dates(
        referrals,
        "referral_date",
        "assessment_start_date",
        "assessment_authorised_date",
        "cpp_start_date",
        "cpp_end_date",
        "cla_start_date",
        "cla_end_date",
        "closure_date",
    )
    df = df.sort(["child_id", "referral_date", "referral_id"]).with_columns(
        pl.col("referral_date").shift(1).over("child_id").alias("previous_referral")
    )
    df = df.with_columns(
        (
            pl.col("previous_referral").is_not_null()
            & (pl.col("previous_referral").dt.offset_by("12mo") >= pl.col("referral_date"))
        ).alias("rereferral"),
        pl.col("cpp_previous_plans").cast(pl.Int64, strict=False),
    )
    ref = df["referral_date"].to_numpy().astype("datetime64[D]")
    auth = df["assessment_authorised_date"].to_numpy().astype("datetime64[D]")
    ok = ~(np.isnat(ref) | np.isnat(auth))
    wd = np.full(len(ref), -1)
    wd[ok] = np.busday_count(ref[ok], auth[ok], holidays=hols)
    return df.with_columns(pl.Series("working_days", wd))


def _pop(population: pl.DataFrame, mid_year: int, locality: str | None = None) -> float:
    p = population.with_columns(pl.col("mid_year").cast(pl.Int64), pl.col("children_0_17").cast(pl.Int64))
    p = p.filter(pl.col("mid_year") == mid_year)
    if locality:
        p = p.filter(pl.col("locality") == locality)
    return float(p["children_0_17"].sum())


def _stock(df: pl.DataFrame, start: str, end: str, day: date, extra: pl.Expr | None = None) -> int:
    cond = (pl.col(start) <= day) & (pl.col(end).is_null() | (pl.col(end) > day))
    if extra is not None:
        cond = cond & extra
    return df.filter(cond)["child_id"].n_unique()


def headline(
    refs: pl.DataFrame,
    population: pl.DataFrame,
    caseloads: pl.DataFrame,
    spend: pl.DataFrame,
    outcomes: pl.DataFrame,
    window: Window,
) -> dict[str, object]:
    """Headline rates per reporting year of the window (full years only) and their average."""
    years = list(range(window.start.year, fy_start_year_of(window.end)))
    cl = caseloads.with_columns(
        pl.col("snapshot_date").str.to_date(),
        pl.col("fte").cast(pl.Float64),
        pl.col("cases_held").cast(pl.Int64),
    )
    sp = spend.with_columns(pl.col("period_month").str.to_date(), pl.col("amount_gbp").cast(pl.Float64))
    per_year: dict[int, dict[str, float]] = {}
    for y in years:
        lo, hi, end31 = date(y, 4, 1), date(y + 1, 3, 31), date(y + 1, 3, 31)
        pop = _pop(population, y)
        in_year = refs.filter(pl.col("referral_date").is_between(lo, hi))
        auth = refs.filter(pl.col("assessment_authorised_date").is_between(lo, hi))
        cpp = refs.filter(pl.col("cpp_start_date").is_between(lo, hi))
        case = cl.filter(
            pl.col("snapshot_date").is_between(lo, hi)
            & pl.col("role").is_in(["social_worker", "senior_practitioner"])
        )
        money = sp.filter(pl.col("period_month").is_between(lo, hi))
        prevention = money.filter(pl.col("s251_line").str.contains(r"^3\.[045]\."))["amount_gbp"]
        per_year[y] = {
            "referral_rate_per_10k": in_year.height / pop * 1e4,
            "rereferral_12m_pct": _pct(in_year["rereferral"]),
            "nfa_pct": _pct(in_year["referral_nfa"] == "Y"),
            "cin_per_10k_31_march": _stock(
                refs, "referral_date", "closure_date", end31, pl.col("referral_nfa") == "N"
            )
            / pop
            * 1e4,
            "cpp_per_10k_31_march": _stock(refs, "cpp_start_date", "cpp_end_date", end31) / pop * 1e4,
            "cla_per_10k_31_march": _stock(refs, "cla_start_date", "cla_end_date", end31) / pop * 1e4,
            "cpp_starts_per_10k": cpp.height / pop * 1e4,
            "second_or_later_cpp_pct": _pct(cpp["cpp_previous_plans"] >= 1),
            "assessments_within_45_days_pct": _pct(auth["working_days"] <= 45),
            "caseload_per_fte": _ratio(case["cases_held"], case["fte"]),
            "prevention_spend_share_pct": _ratio(prevention, money["amount_gbp"]) * 100,
            "families_reliable_improvement_pct": reliable_improvement_pct(outcomes, lo, hi),
        }
    keys = list(per_year[years[0]])
    average = {k: round(float(np.mean([per_year[y][k] for y in years])), 1) for k in keys}
    star = outcomes.filter(pl.col("instrument") == STAR).with_columns(pl.col("reading_date").str.to_date())
    readings = star.group_by("family_id").agg(pl.col("reading_date").unique().sort().alias("days"))
    early = readings.filter(pl.col("days").list.first() <= add_months(window.end, -6))
    with_review = early.filter(pl.col("days").list.len() >= 2)
    return {
        "definitions": "reporting years April-March; rates per 10,000 children aged 0-17 use the mid-year "
        "estimate of the year the reporting year starts; re-referral = another referral of "
        "the same child in the 12 months before; timeliness = authorised within 45 working "
        "days of the referral (England bank holidays excluded); caseload = cases / FTE of "
        "social workers and senior practitioners; reliable improvement = Family Star Plus "
        f"mean of ten areas up by {RELIABLE_STAR_CHANGE} or more from the first reading to "
        "the family's latest review in the year",
        "average_of_full_years": average,
        "by_reporting_year": {
            f"{y}-{str(y + 1)[2:]}": {k: round(float(v), 1) for k, v in per_year[y].items()} for y in years
        },
        "family_star_families_with_no_review_pct": round(
            100 - with_review.height / max(1, early.height) * 100, 1
        ),
    }


def star_reviews(outcomes: pl.DataFrame) -> pl.DataFrame:
    """One row per Family Star Plus parent reading: family, locality, date, mean score, and the mean
    at the family's first reading."""
    star = outcomes.filter((pl.col("instrument") == STAR) & (pl.col("respondent_role") == "parent"))
    star = star.with_columns(
        pl.col("reading_date").str.to_date(strict=False), pl.col("score").cast(pl.Float64)
    )
    per_reading = star.group_by(["reading_id", "family_id", "locality", "reading_date"]).agg(
        pl.col("score").mean().alias("mean")
    )
    per_reading = per_reading.sort(["family_id", "reading_date", "reading_id"])
    return per_reading.with_columns(
        pl.col("mean").first().over("family_id").alias("first_mean"),
        (pl.col("reading_date") == pl.col("reading_date").first().over("family_id")).alias("is_first"),
    )


def reliable_improvement_pct(
    outcomes: pl.DataFrame,
    lo: date,
    hi: date,
    locality: str | None = None,
    reviews: pl.DataFrame | None = None,
) -> float:
    """% of families with a Family Star review in [lo, hi] whose latest review there is better than
    their first reading by the reliable-change threshold."""
    r = reviews if reviews is not None else star_reviews(outcomes)
    r = r.filter(~pl.col("is_first") & pl.col("reading_date").is_between(lo, hi))
    if locality:
        r = r.filter(pl.col("locality") == locality)
    latest = r.sort("reading_date").group_by("family_id").agg(pl.all().last())
    if latest.height == 0:
        return float("nan")
    return _pct((latest["mean"] - latest["first_mean"]) >= RELIABLE_STAR_CHANGE - 1e-9)


def _months_between(first: date, last: date) -> float:
    return (last - first).days / 30.4375


def realised_changes(
    changes: list[dict[str, object]],
    refs: pl.DataFrame,
    population: pl.DataFrame,
    caseloads: pl.DataFrame,
    spend: pl.DataFrame,
    outcomes: pl.DataFrame,
    window: Window,
    localities: list[str],
    la_code: str,
) -> dict[str, dict[str, object]]:
    """For each planted change: the indicator before the change and after it has taken full effect,
    in the planted area and, for comparison, in the other localities together."""
    cl = caseloads.with_columns(
        pl.col("snapshot_date").str.to_date(),
        pl.col("fte").cast(pl.Float64),
        pl.col("cases_held").cast(pl.Int64),
    )
    sp = spend.with_columns(pl.col("period_month").str.to_date(), pl.col("amount_gbp").cast(pl.Float64))
    reviews = star_reviews(outcomes)

    def value(indicator: str, areas: list[str], lo: date, hi: date) -> float:
        loc = pl.col("locality").is_in(areas)
        if indicator == "referral_rate":
            n = refs.filter(loc & pl.col("referral_date").is_between(lo, hi)).height
            pops = sum(_pop(population, fy_start_year_of(lo), a) for a in areas)
            return n / pops * 1e4 / _months_between(lo, hi) * 12
        if indicator == "rereferral_rate_12m":
            return _pct(refs.filter(loc & pl.col("referral_date").is_between(lo, hi))["rereferral"])
        if indicator == "assessments_within_45_days":
            a = refs.filter(loc & pl.col("assessment_authorised_date").is_between(lo, hi))
            return _pct(a["working_days"] <= 45)
        if indicator == "average_caseload_per_fte":
            c = cl.filter(
                loc
                & pl.col("snapshot_date").is_between(lo, hi)
                & pl.col("role").is_in(["social_worker", "senior_practitioner"])
            )
            return _ratio(c["cases_held"], c["fte"])
        if indicator == "prevention_spend_share":
            m = sp.filter(pl.col("period_month").is_between(lo, hi))
            prev = m.filter(pl.col("s251_line").str.contains(r"^3\.[045]\."))["amount_gbp"]
            return _ratio(prev, m["amount_gbp"]) * 100
        if indicator == "families_reliable_improvement_pct":
            r = reviews.filter(pl.col("locality").is_in(areas))
            return reliable_improvement_pct(outcomes, lo, hi, reviews=r)
        raise ValueError(indicator)

    out: dict[str, dict[str, object]] = {}
    for change in changes:
        indicator = str(change["indicator"])
        area = str(change["area"])
        start = date.fromisoformat(str(change["start"]))
        full = add_months(
            date.fromisoformat(str(change["effect_from"])), int(cast(int, change.get("ramp_months", 0)))
        )
        if indicator == "assessments_within_45_days":
            full = add_months(full, 3)  # authorisations trail referrals by up to a few months
        areas = localities if area == la_code else [area]
        others = [c for c in localities if c not in areas]
        before_hi = start - timedelta(days=1)
        before = value(indicator, areas, window.start, before_hi)
        after = value(indicator, areas, full, window.end)
        entry: dict[str, object] = {
            "before_period": [window.start.isoformat(), before_hi.isoformat()],
            "after_period": [full.isoformat(), window.end.isoformat()],
            "before": round(before, 2),
            "after": round(after, 2),
            "relative_change": round(after / before - 1.0, 3),
        }
        if others:
            ob = value(indicator, others, window.start, before_hi)
            oa = value(indicator, others, full, window.end)
            entry["other_localities_relative_change"] = round(oa / ob - 1.0, 3)
        out[str(change["id"])] = entry
    return out
