"""Confidence intervals for the published figures themselves (how sure is this month's value?).

Counts and rates per child get exact Poisson intervals on the numerator; percentages get Wilson score
intervals. Ratios and money are not counts of people, so they get none.
"""

from __future__ import annotations

import numpy as np
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

POISSON_UNITS = {"count", "rate_per_10000"}
PROPORTION_UNITS = {"percent"}


def value_interval(unit: str, numerator: np.ndarray, denominator: np.ndarray | None, scale: float,
                   alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds for each value, in the value's own unit; NaN where none applies.

    `numerator` and `denominator` are arrays of the published totals (NaN where suppressed);
    the value is numerator / denominator * scale (numerator alone for counts).
    """
    num = np.asarray(numerator, dtype=float)
    nan = np.full(num.shape, np.nan)
    if unit in POISSON_UNITS:
        den = np.ones_like(num) if denominator is None or unit == "count" else np.asarray(denominator, dtype=float)
        ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
        if not ok.any():
            return nan, nan
        low, high = confint_poisson(num[ok], np.ones(ok.sum()), method="exact-c", alpha=alpha)
        lower, upper = nan.copy(), nan.copy()
        factor = 1.0 if unit == "count" else scale
        lower[ok] = np.asarray(low) / den[ok] * factor
        upper[ok] = np.asarray(high) / den[ok] * factor
        return lower, upper
    if unit in PROPORTION_UNITS and denominator is not None:
        den = np.asarray(denominator, dtype=float)
        ok = np.isfinite(num) & np.isfinite(den) & (den > 0) & (num <= den)
        if not ok.any():
            return nan, nan
        low, high = proportion_confint(num[ok], den[ok], alpha=alpha, method="wilson")
        lower, upper = nan.copy(), nan.copy()
        lower[ok] = np.asarray(low) * scale
        upper[ok] = np.asarray(high) * scale
        return lower, upper
    return nan, nan
