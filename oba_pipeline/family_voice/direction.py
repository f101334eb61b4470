"""Which way a measure is moving against its own baseline: the one place that verdict is made.

The baseline here is simple on purpose: the pooled value of the measure over the previous
`BASELINE_PERIODS` periods that were published (at least `MIN_BASELINE_PERIODS` of them). A measure
with a numerator and a denominator (percentages, rates per child) moves when a two-proportion z-test
of the period against the pooled baseline gives p < `SIGNIFICANCE`; small groups must move a long way
before they count. A measure without a denominator moves when it is `TOLERANCE` or more away from the
baseline mean. Polarity then turns "up" or "down" into improving or worsening.

A fuller turn-the-curve baseline (a forecast with its interval) can replace `direction_of` later; its
callers only need the labels below.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from statsmodels.stats.proportion import proportions_ztest

Movement = Literal["improving", "worsening", "steady", "no polarity", "not known"]

BASELINE_PERIODS = 3
MIN_BASELINE_PERIODS = 2
SIGNIFICANCE = 0.10
TOLERANCE = 0.05


@dataclass(frozen=True)
class Point:
    """One published period of a measure: value, numerator and denominator are None when not published."""

    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    status: str = "ok"

    @property
    def published(self) -> bool:
        return self.status == "ok" and self.value is not None


@dataclass(frozen=True)
class Verdict:
    movement: Movement
    baseline: float | None
    p_value: float | None
    reason: str


def direction_of(latest: Point, history: Sequence[Point], polarity: str, scale: float = 1.0) -> Verdict:
    """The movement of `latest` against the baseline from `history` (earlier periods, oldest first).

    `scale` turns a numerator/denominator share into the measure's unit (100 for %, 10,000 for a rate
    per 10,000 children), so the baseline is reported in the same unit as the value.
    """
    if not latest.published:
        return Verdict("not known", None, None, f"this period is not published (status {latest.status})")
    base = [p for p in history if p.published][-BASELINE_PERIODS:]
    if len(base) < MIN_BASELINE_PERIODS:
        return Verdict("not known", None, None,
                       f"fewer than {MIN_BASELINE_PERIODS} earlier published periods to compare with")
    assert latest.value is not None
    with_shares = all(p.numerator is not None and p.denominator for p in [latest, *base])
    if with_shares:
        base_num = sum(p.numerator or 0.0 for p in base)
        base_den = sum(p.denominator or 0.0 for p in base)
        baseline = base_num / base_den * scale
        p_value = _two_proportion_p(latest.numerator or 0.0, latest.denominator or 0.0, base_num, base_den)
        moved = p_value is not None and p_value < SIGNIFICANCE
        reason = (f"against the pooled previous {len(base)} periods ({baseline:.1f}); two-proportion z-test "
                  f"p = {p_value:.3f}" if p_value is not None else "no variation to test")
    else:
        values = [p.value for p in base if p.value is not None]
        baseline = sum(values) / len(values)
        p_value = None
        moved = baseline != 0 and abs(latest.value / baseline - 1.0) >= TOLERANCE
        reason = f"against the mean of the previous {len(base)} periods ({baseline:.1f}), tolerance {TOLERANCE:.0%}"
    if not moved:
        return Verdict("steady", baseline, p_value, reason)
    if polarity == "neutral":
        return Verdict("no polarity", baseline, p_value, reason)
    went_up = latest.value > baseline
    better = went_up == (polarity == "higher_is_better")
    return Verdict("improving" if better else "worsening", baseline, p_value, reason)


def _two_proportion_p(num: float, den: float, base_num: float, base_den: float) -> float | None:
    if den <= 0 or base_den <= 0:
        return None
    pooled = (num + base_num) / (den + base_den)
    if pooled in (0.0, 1.0) or pooled > 1.0:
        # Nothing varies (all or none), or the measure is not a share of people: no test.
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, p = proportions_ztest([num, base_num], [den, base_den])
    p = float(p)
    return None if math.isnan(p) else p


Agreement = Literal[
    "both improving", "both worsening", "families worse while services improve",
    "families better while services worsen", "only families moved", "only services moved", "both steady",
    "not known", "no service measure",
]
DIVERGENT = ("families worse while services improve", "families better while services worsen")


def agreement(family: Movement, service: Movement | None) -> Agreement:
    """How the family's side and the service's side moved, as one label."""
    if service is None:
        return "no service measure"
    if "not known" in (family, service) or "no polarity" in (family, service):
        return "not known"
    pair = (family, service)
    labels: dict[tuple[str, str], Agreement] = {
        ("improving", "improving"): "both improving",
        ("worsening", "worsening"): "both worsening",
        ("worsening", "improving"): "families worse while services improve",
        ("improving", "worsening"): "families better while services worsen",
        ("steady", "steady"): "both steady",
    }
    if pair in labels:
        return labels[pair]
    return "only services moved" if family == "steady" else "only families moved"
