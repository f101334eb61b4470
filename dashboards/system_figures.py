"""Pure builders for the whole system page: the series side by side, and the lags between their changes.

The lag analysis is a cross-correlation of month-on-month changes: for each lag k from 0 to 12 months,
the correlation between one measure's change in a month and another's change k months later. Changes,
not levels, because two series that both drift upwards correlate strongly in level whatever their
relation. Nothing here reads data or knows about Dash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.figures import FONT, LINK_BLUE, MID_GREY, TEXT, axis_title, polarity_text

MAX_LAG = 12
# Fewer pairs of months than this and a correlation says too little to be named as the strongest.
MIN_PAIRS = 12
SERIES_COLOURS = {"prevention_spend": "#00703c", "late_intervention_spend": "#d4351c"}
GROUPS = (
    ("Spend", ("prevention_spend", "late_intervention_spend")),
    ("Demand", ("referrals_received", "cin_rate", "cla_rate")),
    ("Capacity", ("average_caseload_per_fte",)),
)


@dataclass(frozen=True)
class LagResult:
    """The correlation of changes at one lag, and how many pairs of months it rests on."""

    lag: int
    correlation: float | None
    pairs: int


def changes(values: Sequence[float | None]) -> list[float | None]:
    """Month-on-month changes; a change touching a missing or suppressed figure is missing too."""
    return [None if before is None or after is None else after - before
            for before, after in zip(values[:-1], values[1:], strict=True)]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation; None when either side does not vary (or there are fewer than 3 pairs)."""
    n = len(xs)
    if n < 3:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


def cross_correlation(leading: Mapping[date, float | None], following: Mapping[date, float | None],
                      max_lag: int = MAX_LAG) -> list[LagResult]:
    """Correlation of the leading series' change in a month with the following one's change `lag` months on.

    Both series are keyed by month start. They are laid on the months both cover, so a month missing
    from one series is a gap, never a shift.
    """
    months = sorted(set(leading) | set(following))
    if not months:
        return [LagResult(lag, None, 0) for lag in range(max_lag + 1)]
    first, last = months[0], months[-1]
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    calendar = [_add_months(first, i) for i in range(span)]
    lead = changes([leading.get(month) for month in calendar])
    follow = changes([following.get(month) for month in calendar])
    results = []
    for lag in range(max_lag + 1):
        pairs = [(x, y) for x, y in zip(lead[:len(lead) - lag], follow[lag:], strict=True)
                 if x is not None and y is not None]
        correlation = pearson([x for x, _ in pairs], [y for _, y in pairs])
        results.append(LagResult(lag, correlation, len(pairs)))
    return results


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def significance_bound(pairs: int) -> float | None:
    """The approximate 95% band around zero for a correlation of `pairs` independent pairs (1.96 / sqrt n)."""
    return 1.96 / math.sqrt(pairs) if pairs > 0 else None


def strongest(results: Sequence[LagResult], min_pairs: int = MIN_PAIRS) -> LagResult | None:
    """The lag with the largest correlation in size, among lags resting on enough pairs; ties go to the shorter."""
    usable = [r for r in results if r.correlation is not None and r.pairs >= min_pairs]
    if not usable:
        return None
    return max(usable, key=lambda r: (abs(r.correlation or 0.0), -r.lag))


def strength_words(correlation: float) -> str:
    size = abs(correlation)
    return "strong" if size >= 0.5 else "moderate" if size >= 0.3 else "weak" if size >= 0.1 else "negligible"


def lag_sentence(results: Sequence[LagResult], leading_name: str, following_name: str) -> str:
    """The lag of strongest association in plain English, with its strength and the caveat."""
    best = strongest(results)
    caveat = ("This is association, not cause: both may follow something else (the season, a change of "
              "practice or of recording), and a chance pattern is likely among 13 lags.")
    if best is None or best.correlation is None:
        return (f"There are too few months with figures for both {leading_name} and {following_name} "
                f"(at least {MIN_PAIRS} pairs of month-on-month changes are needed) to say how they move "
                "together.")
    when = "in the same month" if best.lag == 0 else (
        f"{best.lag} month{'s' if best.lag != 1 else ''} later")
    way = "rise" if best.correlation > 0 else "fall"
    bound = significance_bound(best.pairs) or 0.0
    beyond = ("beyond" if abs(best.correlation) > bound else "within")
    return (f"The strongest association is at a lag of {best.lag} month{'s' if best.lag != 1 else ''}: when "
            f"{leading_name} rises from one month to the next, {following_name} tends to {way} {when} "
            f"(correlation {best.correlation:+.2f}, {strength_words(best.correlation)}, from {best.pairs} pairs "
            f"of months; {beyond} the ±{bound:.2f} that chance alone would give 95 times in 100). {caveat}")


def system_figure(series: Mapping[str, Sequence[Mapping[str, Any]]], meta: Mapping[str, Mapping[str, Any]],
                  area_name: str) -> go.Figure:
    """Spend, demand and capacity in stacked panels sharing the month axis, each with its own unit.

    `series` maps indicator id to points (period_label, value, status) oldest first; `meta` maps
    indicator id to its catalogue entry. Missing and suppressed figures are gaps.
    """
    rows = [(group, ids) for group, ids in GROUPS if any(i in series for i in ids)]
    shown = [(group, [i for i in ids if i in series and i in meta]) for group, ids in rows]
    shown = [(group, ids) for group, ids in shown if ids]
    panels = [(group, indicator_id) for group, ids in shown for indicator_id in ids]
    # One panel per measure: each keeps its own unit, and the shared axis lines the months up.
    titles = [f"{group}: {meta[i]['name']}" for group, i in panels]
    figure = make_subplots(rows=max(len(panels), 1), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=titles or ["No figures"])
    for row, (_group, indicator_id) in enumerate(panels, start=1):
        points = series[indicator_id]
        entry = meta[indicator_id]
        # Dates, not labels, on the shared axis: measures whose history starts in different years still line
        # up month for month.
        xs = [p["period_start"] for p in points]
        ys = [p["value"] if p.get("status") == "ok" else None for p in points]
        unit = str(entry["unit"])
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", connectgaps=False, name=str(entry["name"]),
            line={"color": SERIES_COLOURS.get(indicator_id, LINK_BLUE), "width": 2},
            customdata=[str(p["period_label"]) for p in points],
            hovertemplate="%{customdata}: %{y:,.1f}<extra>" + str(entry["name"]) + "</extra>",
        ), row=row, col=1)
        figure.update_yaxes(title={"text": axis_title(unit, entry.get("unit_label")), "font": {"size": 12}},
                            rangemode="tozero", gridcolor="#dcdcdc", row=row, col=1,
                            tickprefix="£" if unit == "gbp" else None, tickformat=",.3s" if unit == "gbp" else None)
    figure.update_xaxes(type="date", showgrid=False, linecolor=MID_GREY, tickformat="%b %Y", tickangle=0)
    figure.update_layout(
        title={"text": f"The whole system, {area_name}", "x": 0, "xanchor": "left",
               "subtitle": {"text": "Monthly figures · spend in pounds, demand as counts and rates per 10,000 "
                                    "children, capacity as cases per social worker (FTE) · gaps mark missing figures"}},
        font={"family": FONT, "color": TEXT, "size": 13}, showlegend=False, plot_bgcolor="white",
        paper_bgcolor="white", margin={"l": 80, "r": 20, "t": 110, "b": 50}, height=170 * max(len(panels), 1) + 140,
    )
    figure.update_annotations(font={"size": 13, "color": TEXT}, x=0, xanchor="left")
    return figure


def lag_figure(results: Sequence[LagResult], leading: Mapping[str, Any], following: Mapping[str, Any]) -> go.Figure:
    """Correlation of changes by lag, as bars, with the band chance alone would give and the strongest marked."""
    best = strongest(results)
    lags = [r.lag for r in results]
    values = [r.correlation for r in results]
    colours = [LINK_BLUE if best is not None and r.lag == best.lag else "#b1b4b6" for r in results]
    figure = go.Figure(go.Bar(
        x=lags, y=values, marker={"color": colours, "line": {"color": TEXT, "width": 1}},
        customdata=[r.pairs for r in results],
        hovertemplate="Lag %{x} months: correlation %{y:+.2f} (%{customdata} pairs)<extra></extra>",
    ))
    usable = [r.pairs for r in results if r.pairs]
    bound = significance_bound(min(usable)) if usable else None
    if bound is not None:
        for edge in (bound, -bound):
            figure.add_hline(y=edge, line={"color": MID_GREY, "dash": "dash", "width": 1})
    figure.update_layout(
        title={"text": f"Change in {leading['name']}, then change in {following['name']}", "x": 0,
               "xanchor": "left",
               "subtitle": {"text": "Correlation of month-on-month changes (−1 to +1) by lag in months · dashed "
                                    "lines: the band chance alone would give 95 times in 100 · "
                                    f"{following['name']}: {polarity_text(str(following.get('polarity')))}"}},
        font={"family": FONT, "color": TEXT, "size": 13},
        xaxis={"title": {"text": "Lag (months after the change)"}, "tickmode": "linear", "dtick": 1,
               "linecolor": MID_GREY},
        yaxis={"title": {"text": "Correlation"}, "range": [-1, 1], "gridcolor": "#dcdcdc", "zeroline": True,
               "zerolinecolor": MID_GREY},
        showlegend=False, plot_bgcolor="white", paper_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 100, "b": 60}, height=380,
    )
    return figure
