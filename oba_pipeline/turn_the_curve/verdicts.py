"""Verdicts: did the curve do better than its baseline? Four polarity-aware tests, each reported with
its evidence, and an overall verdict that is withheld, with the reason, when the data cannot support one.

Tests (results are `better`, `worse`, `no` or `withheld`; `higher`/`lower` for measures with no polarity):

- beyond_interval: the average of the published values since the baseline was frozen lies outside the
  95% interval of the forecast average over the same periods, and at least 5% away from the forecast.
- sustained: the latest k published periods are, on average, on the same side of the forecast (the turn
  has not faded; single periods of small numbers are too noisy to require each one).
- slope_turned: a segmented regression (with month-of-year effects for monthly series) finds the slope
  since the cycle started significantly in the good direction, where before it was not.
- slowing: before, the slope was significantly in the bad direction; since, it is still bad or flat but
  significantly less steep (the curve is bending).

Overall: `better` when beyond_interval and sustained agree on better, `worse` likewise, else `slowing`
when the slowing test fired, else `on_baseline`; `withheld` when there is no baseline, nothing published
since it was frozen, too few periods for the tests, or numbers too small to judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import statsmodels.api as sm

from oba_pipeline.turn_the_curve.forecast import Baseline, NoBaseline
from oba_pipeline.turn_the_curve.intervals import value_interval

SUSTAINED_K = 3
# A difference from the forecast smaller than this share of it is not called a turn, however certain: the
# smallest change a partnership would act on (and the size the honesty benchmark counts as a planted turn).
MIN_RELATIVE_CHANGE = 0.05
SLOPE_HISTORY = 24  # periods before the cycle used for the "before" slope
SLOPE_MIN_AFTER = 4
ALPHA = 0.05
# When the 95% confidence interval of the pooled average since the baseline was frozen is wider than this
# share of the average, the counts are too small to show a turn.
MAX_RELATIVE_WIDTH = 0.5
TESTS = ("beyond_interval", "sustained", "slope_turned", "slowing")


@dataclass(frozen=True)
class Measure:
    """What the verdict needs to know about a catalogue entry."""

    indicator_id: str
    polarity: str
    unit: str
    scale: float
    decimals: int = 1


@dataclass(frozen=True)
class Series:
    """One area's published values for one period type, oldest first, one entry per period."""

    periods: list[date]
    values: list[float | None]
    numerators: list[float | None]
    denominators: list[float | None]


@dataclass
class TestResult:
    result: str
    evidence: str
    statistic: float | None = None


@dataclass
class Verdict:
    overall: str
    reason: str
    tests: dict[str, TestResult] = field(default_factory=dict)
    window_from: date | None = None
    window_to: date | None = None
    periods_judged: int = 0


def _sign(polarity: str) -> int:
    """+1 when up is good, -1 when down is good, 0 when neither."""
    return {"higher_is_better": 1, "lower_is_better": -1}.get(polarity, 0)


def _direction(polarity: str, delta: float) -> str:
    sign = _sign(polarity)
    if sign == 0:
        return "higher" if delta > 0 else "lower"
    return "better" if delta * sign > 0 else "worse"


def _fmt(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def judge(measure: Measure, series: Series, baseline: Baseline | NoBaseline, *, k: int = SUSTAINED_K) -> Verdict:
    """All four tests and the overall verdict for one measure and area against one baseline."""
    if isinstance(baseline, NoBaseline):
        return _withheld(f"no baseline: {baseline.reason}")
    by_period = {p: i for i, p in enumerate(series.periods)}
    horizon = [pt for pt in baseline.points if pt.period_start in by_period]
    window = [(pt, series.values[by_period[pt.period_start]]) for pt in horizon]
    published = [(pt, v) for pt, v in window if v is not None and math.isfinite(v)]
    if not published:
        return _withheld(f"nothing published since the baseline ends ({baseline.fitted_to:%b %Y})"
                         if not window else f"none of the {len(window)} periods since the baseline was frozen "
                         "is published (suppressed or not available)")
    if len(published) * 2 < len(window):
        return _withheld(f"only {len(published)} of the {len(window)} periods since the baseline was frozen are "
                         "published; the rest are suppressed or not available", window)
    small = _too_small(measure, series, [by_period[pt.period_start] for pt, _ in published])
    if small:
        return _withheld(small, window)
    tests = {
        "beyond_interval": _beyond_interval(measure, series, baseline, window, published, by_period),
        "sustained": _sustained(measure, published, k),
        **_slope_tests(measure, series, baseline, by_period),
    }
    verdict = Verdict(overall="on_baseline", reason="", tests=tests, window_from=window[0][0].period_start,
                      window_to=window[-1][0].period_start, periods_judged=len(published))
    beyond, sustained = tests["beyond_interval"].result, tests["sustained"].result
    good, bad = ("higher", "lower") if _sign(measure.polarity) == 0 else ("better", "worse")
    if beyond == sustained == good:
        verdict.overall = good
    elif beyond == sustained == bad:
        verdict.overall = bad
    elif tests["slowing"].result == "better":
        verdict.overall = "slowing"
    return verdict


def _withheld(reason: str, window: list | None = None) -> Verdict:
    tests = {name: TestResult("withheld", reason) for name in TESTS}
    verdict = Verdict(overall="withheld", reason=reason, tests=tests)
    if window:
        verdict.window_from, verdict.window_to = window[0][0].period_start, window[-1][0].period_start
    return verdict


def _pooled(measure: Measure, series: Series, idx: list[int]) -> tuple[float, float, float, float] | None:
    """The pooled value of the periods `idx` (summed numerators over summed denominators; the mean count
    for counts), its 95% confidence interval, and the pooled numerator; None when not counts of people."""
    nums = [series.numerators[i] for i in idx]
    dens = [series.denominators[i] for i in idx]
    if measure.unit not in ("count", "rate_per_10000", "percent") or any(n is None for n in nums):
        return None
    total = float(sum(nums))  # type: ignore[arg-type]
    if measure.unit == "count":
        low, high = value_interval("count", np.array([total]), None, 1.0)
        return total / len(idx), float(low[0]) / len(idx), float(high[0]) / len(idx), total
    if any(x is None for x in dens) or sum(dens) <= 0:  # type: ignore[arg-type]
        return None
    den = float(sum(dens))  # type: ignore[arg-type]
    low, high = value_interval(measure.unit, np.array([total]), np.array([den]), measure.scale)
    return total / den * measure.scale, float(low[0]), float(high[0]), total


def _too_small(measure: Measure, series: Series, indexes: list[int]) -> str:
    pooled = _pooled(measure, series, indexes)
    if pooled is None:
        return ""
    value, low, high, total = pooled
    if value == 0:
        return "every value since the baseline was frozen is zero: numbers too small to judge"
    width = (high - low) / abs(value)
    if width > MAX_RELATIVE_WIDTH:
        return (f"numbers too small to judge: {total:,.0f} counted over the {len(indexes)} periods since the "
                f"baseline was frozen, so the 95% confidence interval of their average spans {width:.0%} of it "
                f"(more than {MAX_RELATIVE_WIDTH:.0%})")
    return ""


def _beyond_interval(measure: Measure, series: Series, baseline: Baseline, window: list, published: list,
                     by_period: dict[date, int]) -> TestResult:
    d = measure.decimals
    last = window.index(published[-1])
    point = window[last][0]
    actual_mean = float(np.mean([v for _, v in published]))
    forecast_mean = float(np.mean([pt.forecast for pt, _ in window[:last + 1]]))
    # The actual average's own confidence interval, from the pooled counts, as evidence.
    idx = [by_period[pt.period_start] for pt, _ in published]
    pooled = _pooled_interval(measure, series, idx)
    evidence = (f"average {_fmt(actual_mean, d)} over {len(published)} period{'s' if len(published) != 1 else ''} "
                f"from {window[0][0].period_start:%b %Y} to {point.period_start:%b %Y}{pooled}, against a forecast "
                f"average of {_fmt(forecast_mean, d)} (95% interval {_fmt(point.mean_lower, d)} to "
                f"{_fmt(point.mean_upper, d)})")
    if point.mean_lower <= actual_mean <= point.mean_upper:
        return TestResult("no", evidence + ": inside the interval", actual_mean - forecast_mean)
    side = "below" if actual_mean < point.mean_lower else "above"
    relative = abs(actual_mean - forecast_mean) / abs(forecast_mean) if forecast_mean else math.inf
    if relative < MIN_RELATIVE_CHANGE:
        return TestResult("no", f"{evidence}: {side} the interval, but only {relative:.1%} from the forecast, "
                          f"less than the {MIN_RELATIVE_CHANGE:.0%} counted as a turn", actual_mean - forecast_mean)
    result = _direction(measure.polarity, actual_mean - forecast_mean)
    return TestResult(result, f"{evidence}: {side} the interval, {relative:.1%} from the forecast",
                      actual_mean - forecast_mean)


def _pooled_interval(measure: Measure, series: Series, idx: list[int]) -> str:
    pooled = _pooled(measure, series, idx)
    if pooled is None:
        return ""
    kind = "exact Poisson" if measure.unit in ("count", "rate_per_10000") else "Wilson"
    return (f" (pooled 95% {kind} interval {_fmt(pooled[1], measure.decimals)} to "
            f"{_fmt(pooled[2], measure.decimals)})")


def _sustained(measure: Measure, published: list, k: int) -> TestResult:
    if len(published) < k:
        return TestResult("withheld", f"only {len(published)} published period{'s' if len(published) != 1 else ''}"
                          f" since the baseline was frozen; {k} needed")
    latest = published[-k:]
    deltas = [v - pt.forecast for pt, v in latest]
    described = ", ".join(f"{pt.period_start:%b %Y} {v - pt.forecast:+,.{measure.decimals}f}" for pt, v in latest)
    mean = float(np.mean(deltas))
    evidence = f"latest {k} periods against the forecast: {described}; on average {mean:+,.{measure.decimals}f}"
    if mean == 0:
        return TestResult("no", evidence + " (on the forecast)", mean)
    return TestResult(_direction(measure.polarity, mean), evidence, mean)


def _slope_tests(measure: Measure, series: Series, baseline: Baseline,
                 by_period: dict[date, int]) -> dict[str, TestResult]:
    start = baseline.points[0].period_start
    cut = by_period.get(start)
    if cut is None:
        reason = "no published periods after the baseline"
        return {"slope_turned": TestResult("withheld", reason), "slowing": TestResult("withheld", reason)}
    last_forecast = baseline.points[-1].period_start
    rows = [(i, series.values[i]) for i in range(max(0, cut - SLOPE_HISTORY), len(series.periods))
            if series.periods[i] <= last_forecast and series.values[i] is not None
            and math.isfinite(series.values[i])]  # type: ignore[arg-type]
    before = [(i, v) for i, v in rows if i < cut]
    after = [(i, v) for i, v in rows if i >= cut]
    if len(after) < SLOPE_MIN_AFTER or len(before) < SLOPE_MIN_AFTER:
        reason = (f"{len(before)} published periods before and {len(after)} since the cycle started; "
                  f"at least {SLOPE_MIN_AFTER} of each are needed to compare slopes")
        return {"slope_turned": TestResult("withheld", reason), "slowing": TestResult("withheld", reason)}
    t = np.array([i - cut for i, _ in rows], dtype=float)
    y = np.array([v for _, v in rows], dtype=float)
    post = (t >= 0).astype(float)
    columns = [np.ones_like(t), t, post, t * post]
    monthly = len(series.periods) > 1 and (series.periods[1].year * 12 + series.periods[1].month
                                           - series.periods[0].year * 12 - series.periods[0].month) == 1
    if monthly and len(rows) >= 24:
        months = np.array([series.periods[i].month for i, _ in rows])
        columns += [(months == m).astype(float) for m in range(2, 13) if (months == m).any()]
    x = np.column_stack(columns)
    if np.linalg.matrix_rank(x) < x.shape[1] or len(y) <= x.shape[1] + 2:
        reason = "too few periods to fit slopes before and after"
        return {"slope_turned": TestResult("withheld", reason), "slowing": TestResult("withheld", reason)}
    fit = sm.OLS(y, x).fit()
    step = "month" if monthly else "period"
    before_slope, before_ci = float(fit.params[1]), fit.conf_int(ALPHA)[1]
    change_test = fit.t_test(np.eye(x.shape[1])[3])
    change, change_ci = float(fit.params[3]), np.asarray(change_test.conf_int(ALPHA))[0]
    after_test = fit.t_test(np.eye(x.shape[1])[1] + np.eye(x.shape[1])[3])
    after_slope, after_ci = float(np.asarray(after_test.effect).ravel()[0]), np.asarray(after_test.conf_int(ALPHA))[0]
    d = measure.decimals + 1
    evidence = (f"slope per {step}: before {before_slope:+.{d}f} "
                f"(95% CI {before_ci[0]:+.{d}f} to {before_ci[1]:+.{d}f}), "
                f"since {after_slope:+.{d}f} (95% CI {after_ci[0]:+.{d}f} to {after_ci[1]:+.{d}f}), "
                f"change {change:+.{d}f} (95% CI {change_ci[0]:+.{d}f} to {change_ci[1]:+.{d}f})")
    sign = _sign(measure.polarity)
    if sign == 0:
        turned = "no"
        if after_ci[0] > 0 >= before_slope or after_ci[1] < 0 <= before_slope:
            turned = "higher" if after_slope > 0 else "lower"
        return {"slope_turned": TestResult(turned, evidence, after_slope),
                "slowing": TestResult("no", "no polarity: there is no bad direction to slow down in", change)}

    def good(ci: np.ndarray) -> bool:  # the whole interval in the good direction
        return bool(ci[0] > 0) if sign > 0 else bool(ci[1] < 0)

    def bad(ci: np.ndarray) -> bool:
        return bool(ci[1] < 0) if sign > 0 else bool(ci[0] > 0)

    if good(after_ci) and before_slope * sign <= 0:
        turned = "better"
    elif bad(after_ci) and before_slope * sign >= 0:
        turned = "worse"
    else:
        turned = "no"
    slowing = "better" if bad(before_ci) and after_slope * sign <= 0 and good(change_ci) else "no"
    return {"slope_turned": TestResult(turned, evidence, after_slope), "slowing": TestResult(slowing, evidence, change)}
