"""Baselines: a statistical forecast of where a curve goes if nothing changes, with its uncertainty.

Which method is used when (documented in the README):

- 36 or more clean monthly points (three years): Holt-Winters exponential smoothing with a damped
  additive trend, with and without an additive 12-month seasonal pattern; the one with the lower AICc is
  kept. Referrals follow the school year, so most front-door measures are seasonal.
- 12 to 35 clean points: damped-trend and level-only exponential smoothing, lower AICc kept. Too short
  to estimate a seasonal pattern honestly.
- otherwise (every reporting-year series, monthly series broken by suppression): the average of the
  published values of the last 24 months (6 years) carried forward, with a Student-t prediction
  interval, if at least 4 values and at least half the periods are published; else no baseline, with
  the reason. With so few points a trend is mostly noise.

Exponential smoothing is fitted to the latest unbroken run of published (status `ok`) values only: a
model is never fitted or drawn through a suppressed or missing point. Prediction intervals come from 2,000
simulated future paths of the fitted model, which also give the (99%) interval of the *average* over the
first h forecast periods, the quantity the verdicts compare against.

The fits are least squares, stopped when a step improves the sum of squares by less than one part in a
million (`TOLERANCE`). A series fitted twice in a night (the latest forecast, then the provisional baseline a
year earlier) can start its second fit from the first's parameters (`WarmStart`): the two runs share their
start and all but the last year, so the optimum is near and fewer steps reach it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy import stats
from statsmodels.tsa.holtwinters import ExponentialSmoothing

SEASONAL_MIN = 36
TREND_MIN = 12
FALLBACK_MIN = 4
SEASON = 12
RECENT_WINDOW = {"month": 24, "reporting_year": 6}  # periods the short-history average looks back over
SIMULATIONS = 2000
LEVEL = 0.95
# The interval of the average that a verdict must clear: wider than the 95% drawn on charts, because the
# simulated paths leave out the uncertainty of the fitted parameters themselves, and a partnership should
# only be told its curve turned on strong evidence (as control charts use three-sigma limits).
MEAN_LEVEL = 0.99
SEED = 3_141_592
# scipy's least squares stops when a step changes the sum of squares by less than this share. Its default,
# 1e-8, spends a fifth of the fitting time moving forecasts by less than a hundredth of a percent (national
# series: median 7e-6, 95th percentile 3e-4 of the forecast), far below the decimals any measure publishes.
TOLERANCE = 1e-6

METHOD_LABELS = {
    "ets_damped_seasonal": "exponential smoothing, damped trend, monthly seasonal pattern",
    "ets_damped": "exponential smoothing, damped trend",
    "ets_level": "exponential smoothing, level only",
    "recent_mean": "recent average carried forward (short history)",
}


@dataclass(frozen=True)
class BaselinePoint:
    """One forecast period: the central forecast, its prediction interval, and the interval of the
    average of all forecast periods from the first up to and including this one."""

    period_start: date
    forecast: float
    lower: float
    upper: float
    mean_lower: float
    mean_upper: float


@dataclass(frozen=True)
class Baseline:
    method: str
    fitted_from: date
    fitted_to: date
    fitted_points: int
    points: tuple[BaselinePoint, ...]
    note: str = ""

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    def point(self, period_start: date) -> BaselinePoint | None:
        for p in self.points:
            if p.period_start == period_start:
                return p
        return None


@dataclass(frozen=True)
class NoBaseline:
    reason: str


@dataclass
class WarmStart:
    """The fitted parameters of each exponential smoothing model tried on one series, to start a later fit
    of the same series from. Used only when the later fit's run of values begins on the same period (a
    model's initial states belong to the run's first period); otherwise a fit starts from the usual guesses."""

    run_start: date | None = None
    params: dict[str, np.ndarray] = field(default_factory=dict)


def step_months(period_type: str) -> int:
    return 12 if period_type == "reporting_year" else 1


def add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def clean_run(periods: list[date], values: list[float | None], cutoff: date) -> tuple[list[date], np.ndarray, int]:
    """The latest unbroken run of published values on or before `cutoff`, and how many earlier clean
    points were left out because a suppressed or missing period breaks the run."""
    run_periods: list[date] = []
    run_values: list[float] = []
    broken = False
    for period, value in zip(periods, values, strict=True):
        if period > cutoff:
            break
        if value is None or not math.isfinite(value):
            broken = True  # a later published value starts a new run; a suppressed tail keeps this one
            continue
        if broken:
            run_periods, run_values, broken = [], [], False
        run_periods.append(period)
        run_values.append(float(value))
    skipped = sum(1 for p, v in zip(periods, values, strict=True)
                  if p <= cutoff and v is not None and math.isfinite(v)) - len(run_values)
    return run_periods, np.asarray(run_values, dtype=float), skipped


def fit_baseline(periods: list[date], values: list[float | None], *, period_type: str, cutoff: date,
                 horizon: int, unit: str = "", level: float = LEVEL,
                 warm: WarmStart | None = None) -> Baseline | NoBaseline:
    """Fit the default statistical baseline on values up to `cutoff` and forecast `horizon` periods
    after it. `periods` are consecutive period starts; `values` are None where not published.

    With `warm`, exponential smoothing starts from the parameters it holds (when they fit this run) and
    leaves this fit's parameters in it for the next."""
    run_periods, y, skipped = clean_run(periods, values, cutoff)
    step = step_months(period_type)
    monthly = period_type == "month"
    rng = np.random.default_rng(SEED)
    if monthly and len(y) >= TREND_MIN:
        fitted_periods = run_periods
        # Periods between the last fitted value and the cutoff (a suppressed tail) are forecast too, unseen.
        gap = _periods_between(run_periods[-1], cutoff, step)
        steps = gap + horizon
        starts = warm.params if warm is not None and warm.run_start == run_periods[0] else {}
        method, central, paths, fitted = _exponential_smoothing(y, steps, seasonal=len(y) >= SEASONAL_MIN,
                                                                rng=rng, starts=starts)
        if warm is not None:
            warm.run_start, warm.params = run_periods[0], fitted
        notes = []
        if skipped:
            notes.append(f"{skipped} earlier published value{'s' if skipped != 1 else ''} not used: a suppressed "
                         "or missing period breaks the series")
    else:
        # Too short an unbroken run for a model: the recent average of the published values (no model is
        # fitted through the gaps, so none is needed). Too many gaps bias what is left, so then none.
        window = [(p, v) for p, v in zip(periods, values, strict=True)
                  if add_months(cutoff, -step * RECENT_WINDOW[period_type]) < p <= cutoff]
        recent = [(p, float(v)) for p, v in window if v is not None and math.isfinite(v)]
        if len(recent) < FALLBACK_MIN or len(recent) * 2 < len(window):
            return NoBaseline(f"only {len(recent)} of the {len(window)} periods up to {cutoff:%b %Y} "
                              f"{'is' if len(recent) == 1 else 'are'} published (the rest suppressed or not "
                              f"available); a forecast needs at least {FALLBACK_MIN}, and at least half")
        fitted_periods = [p for p, _ in recent]
        y = np.array([v for _, v in recent])
        gap = _periods_between(fitted_periods[-1], cutoff, step)
        steps = gap + horizon
        method, central, paths = _recent_mean(y, steps, rng)
        notes = []
        if len(recent) < len(window):
            notes.append(f"{len(window) - len(recent)} of the {len(window)} recent periods not published; "
                         "the average uses the published ones only")
    if gap:
        notes.append(f"the last {gap} period{'s' if gap != 1 else ''} before the forecast were not published")
    n = len(y)
    run_periods = fitted_periods
    central, paths = central[gap:], paths[gap:]
    low_bound, high_bound = (0.0, 100.0) if unit == "percent" else (0.0, math.inf)
    paths = np.clip(paths, low_bound, high_bound)
    central = np.clip(central, low_bound, high_bound)
    tail = (1 - level) / 2
    lower, upper = np.quantile(paths, [tail, 1 - tail], axis=1)
    running_mean = np.cumsum(paths, axis=0) / np.arange(1, horizon + 1)[:, None]
    mean_tail = (1 - MEAN_LEVEL) / 2
    mean_lower, mean_upper = np.quantile(running_mean, [mean_tail, 1 - mean_tail], axis=1)
    first = add_months(cutoff, step)
    points = tuple(
        BaselinePoint(add_months(first, step * i), float(central[i]), float(lower[i]), float(upper[i]),
                      float(mean_lower[i]), float(mean_upper[i]))
        for i in range(horizon)
    )
    return Baseline(method=method, fitted_from=run_periods[0], fitted_to=run_periods[-1], fitted_points=n,
                    points=points, note="; ".join(notes))


def _periods_between(last: date, cutoff: date, step: int) -> int:
    gap = 0
    while add_months(last, step * (gap + 1)) <= cutoff:
        gap += 1
    return gap


def _exponential_smoothing(y: np.ndarray, steps: int, *, seasonal: bool, rng: np.random.Generator,
                           starts: dict[str, np.ndarray]) -> tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The candidate with the lower AICc: its name, central forecast and simulated paths, with every
    candidate's fitted parameters (to start a later fit from; see `WarmStart`)."""
    candidates: list[tuple[str, dict[str, object]]] = [("ets_damped", {"trend": "add", "damped_trend": True})]
    if seasonal:
        candidates.append(("ets_damped_seasonal", {"trend": "add", "damped_trend": True, "seasonal": "add",
                                                   "seasonal_periods": SEASON}))
    else:
        candidates.append(("ets_level", {}))
    best = None
    fitted_params: dict[str, np.ndarray] = {}
    for name, kwargs in candidates:
        with warnings.catch_warnings():
            # Convergence chatter on short or flat series; a failed fit simply loses the comparison.
            warnings.simplefilter("ignore")
            try:
                # Least squares without the brute-force start search: the same optimum here, ten times faster.
                # A plain array, not a pandas Series: the same fit without statsmodels' index handling.
                fitted = ExponentialSmoothing(y, initialization_method="estimated", **kwargs).fit(
                    use_brute=False, method="least_squares", start_params=starts.get(name),
                    minimize_kwargs={"ftol": TOLERANCE})
            except (ValueError, np.linalg.LinAlgError):
                continue
        aicc = fitted.aicc
        if not np.isfinite(aicc) or not np.all(np.isfinite(fitted.fittedvalues)):
            continue
        fitted_params[name] = _free_parameters(fitted.params, kwargs)
        if best is None or aicc < best[2]:
            best = (name, fitted, aicc)
    if best is None:
        return (*_recent_mean(y, steps, rng), fitted_params)
    name, fitted, _ = best
    central = np.asarray(fitted.forecast(steps), dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        paths = np.asarray(fitted.simulate(steps, anchor="end", repetitions=SIMULATIONS, error="add",
                                           random_state=rng), dtype=float).reshape(steps, SIMULATIONS)
    return name, central, paths, fitted_params


def _free_parameters(params: dict[str, object], kwargs: dict[str, object]) -> np.ndarray:
    """A fitted model's estimated parameters in the order statsmodels takes them as `start_params`: the
    smoothing weights, then the initial states, with the damping between the initial trend and seasons."""
    trend, seasonal = kwargs.get("trend") is not None, kwargs.get("seasonal") is not None
    values: list[object] = [params["smoothing_level"]]
    values += [params["smoothing_trend"]] if trend else []
    values += [params["smoothing_seasonal"]] if seasonal else []
    values += [params["initial_level"]]
    values += [params["initial_trend"]] if trend else []
    values += [params["damping_trend"]] if kwargs.get("damped_trend") else []
    return np.concatenate([np.asarray(values, dtype=float),
                           np.asarray(params["initial_seasons"], dtype=float) if seasonal else np.empty(0)])


def _recent_mean(y: np.ndarray, steps: int, rng: np.random.Generator) -> tuple[str, np.ndarray, np.ndarray]:
    """The average of the recent published values, carried forward; future values and the uncertainty of
    the average itself are drawn from the Student-t predictive distribution."""
    recent = y
    n = len(recent)
    mean = float(recent.mean())
    sd = float(recent.std(ddof=1)) if n > 1 else 0.0
    # Uncertainty of the estimated level is shared by every future period; each period adds its own noise.
    level = mean + sd / math.sqrt(n) * stats.t.rvs(n - 1, size=SIMULATIONS, random_state=rng)
    noise = sd * stats.t.rvs(n - 1, size=(steps, SIMULATIONS), random_state=rng)
    return "recent_mean", np.full(steps, mean), level[None, :] + noise
