"""Pure builders for a measure's baseline chart: history with gaps, the frozen forecast and its interval,
scenarios, target, national comparators and the start of each action. One Plotly figure for the pages, and
the same picture as a self-contained SVG for the downloadable report cards.

Nothing here reads data or knows about Dash; tests call these functions with plain records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from html import escape
from typing import Any

import plotly.graph_objects as go

from dashboards.figures import (
    FONT,
    LINK_BLUE,
    MID_GREY,
    PERIOD_AXIS,
    TEXT,
    axis_title,
    category_ticks,
    format_value,
    polarity_text,
    status_explanation,
)
from oba_pipeline.turn_the_curve.series import period_label

FORECAST_COLOUR = "#505a5f"
BAND_COLOUR = "rgba(80, 90, 95, 0.18)"
SCENARIO_COLOURS = ("#912b88", "#f47738", "#28a197")
TARGET_COLOUR = "#00703c"
ENGLAND_COLOUR = "#0b0c0c"
NEIGHBOUR_COLOUR = "#5694ca"
ACTION_COLOUR = "#d4351c"


@dataclass(frozen=True)
class Forecast:
    """The forecast drawn on a curve: what it is (a cycle's frozen vintage or the latest statistical one)."""

    label: str
    points: tuple[Mapping[str, Any], ...]  # period_start, forecast_value, lower, upper
    frozen: bool = False
    method: str | None = None


@dataclass(frozen=True)
class Curve:
    """Everything one chart shows. `history` rows carry period_start, period_label, value and status."""

    meta: Mapping[str, Any]
    period_type: str
    history: Sequence[Mapping[str, Any]]
    forecast: Forecast | None = None
    scenarios: Mapping[str, Sequence[tuple[date, float]]] = field(default_factory=dict)
    target: float | None = None
    comparators: Sequence[Mapping[str, Any]] = ()  # benchmark rows: period_label, england/neighbours values
    actions: Sequence[tuple[date, str]] = ()  # (start date, short name) of each action in the plan


def choose_forecast(baseline_rows: Sequence[Mapping[str, Any]],
                    cycle: Mapping[str, Any] | None = None) -> Forecast | None:
    """The frozen forecast of the latest cycle when one has started, else the latest statistical forecast.

    `baseline_rows` are the published `baselines` rows of one measure and area; `cycle` (optional) is a
    cycle's frozen baseline read from the application database, used when a refresh has not yet published it.
    """
    vintages = [r for r in baseline_rows if r.get("series") == "vintage" and r.get("vintage_id") is not None]
    if cycle is not None and not any(r["vintage_id"] == cycle["vintage_id"] for r in vintages):
        return Forecast(label=f"Baseline frozen for {cycle['name']}", points=tuple(cycle["points"]), frozen=True,
                        method=cycle.get("method"))
    if vintages:
        latest = max(int(r["vintage_id"]) for r in vintages)
        rows = sorted((r for r in vintages if r["vintage_id"] == latest), key=lambda r: r["period_start"])
        return Forecast(label=f"Baseline frozen for {rows[0].get('cycle_name') or 'the cycle'}",
                        points=tuple(rows), frozen=True, method=rows[0].get("method"))
    latest_rows = sorted((r for r in baseline_rows if r.get("series") == "forecast"), key=lambda r: r["period_start"])
    if latest_rows:
        return Forecast(label="Forecast if nothing changes", points=tuple(latest_rows),
                        method=latest_rows[0].get("method"))
    return None


def scenario_series(baseline_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[date, float]]]:
    """Each named scenario's points from the published `baselines` rows."""
    found: dict[str, list[tuple[date, float]]] = {}
    for row in sorted(baseline_rows, key=lambda r: r["period_start"]):
        if row.get("series") == "scenario" and row.get("scenario") and row.get("forecast_value") is not None:
            found.setdefault(str(row["scenario"]), []).append((row["period_start"], float(row["forecast_value"])))
    return found


def period_of(day: date, period_type: str) -> date:
    """The start of the period a day falls in: its month, or the reporting year (from April) containing it."""
    if period_type == "reporting_year":
        return date(day.year if day.month >= 4 else day.year - 1, 4, 1)
    return date(day.year, day.month, 1)


def axis_periods(curve: Curve) -> list[date]:
    """Every period on the chart's axis, oldest first: history, then forecast and scenario periods."""
    periods = {p["period_start"] for p in curve.history}
    if curve.forecast is not None:
        periods |= {p["period_start"] for p in curve.forecast.points}
    for points in curve.scenarios.values():
        periods |= {p for p, _ in points}
    return sorted(periods)


def action_marks(curve: Curve, labels: Mapping[date, str]) -> list[tuple[str, str]]:
    """(axis label, text) for each action whose start falls on the chart, numbered in plan order."""
    marks = []
    for number, (start, name) in enumerate(curve.actions, start=1):
        label = labels.get(period_of(start, curve.period_type))
        if label is not None:
            marks.append((label, f"A{number}: {name} (from {start:%-d %b %Y})"))
    return marks


def gap_starts(history: Sequence[Mapping[str, Any]]) -> list[date]:
    """The first period of each run of missing figures with the same symbol: one label per run, so a year of
    'x' reads as one gap rather than a row of letters."""
    starts, previous = [], "ok"
    for point in sorted(history, key=lambda p: p["period_start"]):
        status = str(point.get("status") or "x")
        if status != "ok" and status != previous:
            starts.append(point["period_start"])
        previous = status
    return starts


def recent(curve: Curve, months: int = 60) -> Curve:
    """The curve with its history cut to the latest `months` (five years by default), as a printed card shows
    it; reporting years are kept whole. Forecast, scenarios and actions are unchanged."""
    if curve.period_type != "month" or not curve.history:
        return curve
    last = max(p["period_start"] for p in curve.history)
    first = last.year * 12 + last.month - months
    kept = [p for p in curve.history if p["period_start"].year * 12 + p["period_start"].month > first]
    return replace(curve, history=kept)


def measure_figure(curve: Curve) -> go.Figure:
    """The baseline chart: history (gaps marked with their symbol), forecast with its 95% interval, scenarios,
    target, comparators and action start lines."""
    meta, period_type = curve.meta, curve.period_type
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    periods = axis_periods(curve)
    labels = {p: period_label(p, period_type) for p in periods}
    xs = [labels[p] for p in periods]

    def shown(value: float | None) -> str:
        return format_value(value, unit, decimals)

    figure = go.Figure()
    if curve.forecast is not None and curve.forecast.points:
        points = curve.forecast.points
        fx = [labels[p["period_start"]] for p in points]
        figure.add_trace(go.Scatter(x=fx, y=[p["upper"] for p in points], mode="lines", line={"width": 0},
                                    hoverinfo="skip", showlegend=False))
        figure.add_trace(go.Scatter(
            x=fx, y=[p["lower"] for p in points], mode="lines", line={"width": 0}, fill="tonexty",
            fillcolor=BAND_COLOUR, name="95% prediction interval",
            customdata=[f"{shown(p['lower'])} to {shown(p['upper'])}" for p in points],
            hovertemplate="%{x}: 95% interval %{customdata}<extra></extra>"))
        figure.add_trace(go.Scatter(
            x=fx, y=[p["forecast_value"] for p in points], mode="lines", name=curve.forecast.label,
            line={"color": FORECAST_COLOUR, "dash": "dash", "width": 3},
            customdata=[shown(p["forecast_value"]) for p in points],
            hovertemplate=f"{curve.forecast.label}, %{{x}}: %{{customdata}}<extra></extra>"))
    for index, (name, points) in enumerate(curve.scenarios.items()):
        figure.add_trace(go.Scatter(
            x=[labels[p] for p, _ in points], y=[v for _, v in points], mode="lines+markers",
            name=f"Scenario: {name}", line={"color": SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)], "dash": "dot"},
            customdata=[shown(v) for _, v in points],
            hovertemplate=f"Scenario {name}, %{{x}}: %{{customdata}}<extra></extra>"))
    if curve.comparators and period_type == "reporting_year":
        by_label = {str(r["period_label"]): r for r in curve.comparators}
        for name, column, colour, dash in (("England", "england_value", ENGLAND_COLOUR, "dot"),
                                           ("Statistical neighbours' median", "neighbours_median", NEIGHBOUR_COLOUR,
                                            "dashdot")):
            ys = [by_label.get(x, {}).get(column) for x in xs]
            if any(y is not None for y in ys):
                figure.add_trace(go.Scatter(
                    x=xs, y=ys, mode="lines+markers", name=name, connectgaps=False,
                    line={"color": colour, "dash": dash, "width": 2},
                    customdata=[shown(y) for y in ys], hovertemplate=f"{name}, %{{x}}: %{{customdata}}<extra></extra>"))
    values = {p["period_start"]: p for p in curve.history}
    ys = [values[p]["value"] if p in values and values[p].get("status") == "ok" else None for p in periods]
    figure.add_trace(go.Scatter(
        x=xs, y=ys, mode="lines+markers", name=str(meta["name"]), connectgaps=False,
        line={"color": LINK_BLUE, "width": 3}, marker={"size": 7, "color": LINK_BLUE},
        customdata=[shown(y) for y in ys], hovertemplate="%{x}: %{customdata}<extra></extra>"))
    if curve.target is not None:
        figure.add_trace(go.Scatter(x=[xs[0], xs[-1]] if xs else [], y=[curve.target, curve.target], mode="lines",
                                    name=f"Target {shown(curve.target)}",
                                    line={"color": TARGET_COLOUR, "width": 2, "dash": "longdash"}, hoverinfo="skip"))
    gaps = [(labels[p], values[p].get("status")) for p in gap_starts(curve.history)]
    for label, status in gaps:
        figure.add_annotation(x=label, y=0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                              text=f"<b>{status or 'x'}</b>", font={"color": TEXT, "size": 14},
                              hovertext=status_explanation(status) or "no figure")
    for label, text in action_marks(curve, labels):
        figure.add_shape(type="line", x0=label, x1=label, xref="x", y0=0, y1=1, yref="paper",
                         line={"color": ACTION_COLOUR, "width": 2, "dash": "dot"})
        figure.add_annotation(x=label, y=1, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                              text=text.split(":")[0], font={"color": ACTION_COLOUR, "size": 13}, hovertext=text)
    subtitle = " · ".join(filter(None, [str(meta.get("unit_label") or axis_title(unit, None)),
                                        PERIOD_AXIS.get(period_type, period_type),
                                        polarity_text(str(meta.get("polarity"))),
                                        "gaps mark missing figures" if gaps else ""]))
    figure.update_layout(
        title={"text": str(meta["name"]), "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
        font={"family": FONT, "color": TEXT, "size": 14},
        xaxis={"title": {"text": PERIOD_AXIS.get(period_type, "Period")}, "type": "category",
               "categoryorder": "array", "categoryarray": xs, "showgrid": False, "linecolor": MID_GREY,
               "automargin": True, "tickmode": "array", "tickvals": category_ticks(xs), "tickangle": 0},
        yaxis={"title": {"text": axis_title(unit, meta.get("unit_label"))}, "gridcolor": "#dcdcdc",
               "rangemode": "tozero", "zeroline": False, "automargin": True,
               "tickformat": f",.{decimals}f" if unit != "gbp" else ",.3s"},
        legend={"orientation": "h", "y": -0.22, "x": 0}, plot_bgcolor="white", paper_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 100, "b": 60}, height=460,
    )
    if unit == "percent":
        figure.update_yaxes(ticksuffix="%")
    if unit == "gbp":
        figure.update_yaxes(tickprefix="£")
    return figure


def curve_rows(curve: Curve) -> list[dict[str, str]]:
    """The chart's figures as table rows (the text alternative): period, figure, forecast, interval, scenarios."""
    unit, decimals = str(curve.meta["unit"]), int(curve.meta.get("decimals") or 0)
    values = {p["period_start"]: p for p in curve.history}
    forecast = {p["period_start"]: p for p in (curve.forecast.points if curve.forecast else ())}
    scenarios = {name: dict(points) for name, points in curve.scenarios.items()}
    rows = []
    for period in axis_periods(curve):
        row = {"period": period_label(period, curve.period_type), "figure": "", "forecast": "", "interval": ""}
        if period in values:
            point = values[period]
            row["figure"] = (format_value(point["value"], unit, decimals) if point.get("status") == "ok"
                             else f"{point.get('status')} ({status_explanation(point.get('status'))})")
        if period in forecast:
            f = forecast[period]
            row["forecast"] = format_value(f["forecast_value"], unit, decimals)
            row["interval"] = (f"{format_value(f['lower'], unit, decimals)} to "
                               f"{format_value(f['upper'], unit, decimals)}")
        for name, points in scenarios.items():
            row[f"Scenario: {name}"] = format_value(points[period], unit, decimals) if period in points else ""
        rows.append(row)
    return rows


def curve_svg(curve: Curve, *, width: int = 440, height: int = 210) -> str:
    """The curve as a self-contained SVG for a printed report card: history (broken at gaps, with the symbol),
    the forecast and its interval, the target and action start lines. Text in it is escaped."""
    meta = curve.meta
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    periods = axis_periods(curve)
    left, right, top, bottom = 64, 36, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = {p["period_start"]: p for p in curve.history}
    forecast = list(curve.forecast.points) if curve.forecast else []
    numbers = [float(p["value"]) for p in curve.history if p.get("status") == "ok" and p.get("value") is not None]
    numbers += [float(p[k]) for p in forecast for k in ("forecast_value", "lower", "upper") if p.get(k) is not None]
    if curve.target is not None:
        numbers.append(float(curve.target))
    title = escape(f"{meta['name']}: {polarity_text(str(meta.get('polarity')))}")
    if not periods or not numbers:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="60" '
                f'viewBox="0 0 {width} 60"><title>{title}</title><text x="0" y="30" font-family="Arial" '
                'font-size="14">No published figures to draw.</text></svg>')
    high = max(numbers) * 1.08 or 1.0
    low = 0.0 if min(numbers) >= 0 else min(numbers) * 1.08
    step = plot_w / max(len(periods) - 1, 1)
    position = {p: left + i * step for i, p in enumerate(periods)}

    def y(value: float) -> float:
        return top + plot_h - (value - low) / (high - low) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="Arial, Helvetica, sans-serif" font-size="12">',
             f"<title>{title}</title>",
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MID_GREY}"/>']
    for fraction in (0.0, 0.5, 1.0):
        tick = low + (high - low) * fraction
        tick_text = format_value(tick, unit, 0) if unit == "gbp" else format_value(tick, unit, decimals,
                                                                                   with_unit=False)
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(tick_text)}</text>')
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
                     'stroke="#dcdcdc"/>')
    for label_period in category_ticks(periods, most=6):
        parts.append(f'<text x="{position[label_period]:.1f}" y="{height - 18}" text-anchor="middle">'
                     f"{escape(period_label(label_period, curve.period_type))}</text>")
    if forecast:
        band = [(position[p["period_start"]], y(float(p["upper"]))) for p in forecast]
        band += [(position[p["period_start"]], y(float(p["lower"]))) for p in reversed(forecast)]
        parts.append(f'<polygon fill="{FORECAST_COLOUR}" fill-opacity="0.18" points="'
                     + " ".join(f"{x:.1f},{v:.1f}" for x, v in band) + '"/>')
        parts.append(f'<polyline fill="none" stroke="{FORECAST_COLOUR}" stroke-width="2" stroke-dasharray="6 4" '
                     'points="' + " ".join(f"{position[p['period_start']]:.1f},{y(float(p['forecast_value'])):.1f}"
                                            for p in forecast) + '"/>')
    if curve.target is not None:
        parts.append(f'<line x1="{left}" y1="{y(curve.target):.1f}" x2="{width - right}" y2="{y(curve.target):.1f}" '
                     f'stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="10 4"/>')
    starts = set(gap_starts(curve.history))
    run: list[str] = []
    for period in [*periods, None]:
        point = values.get(period) if period is not None else None
        if point is not None and point.get("status") == "ok" and point.get("value") is not None:
            run.append(f"{position[period]:.1f},{y(float(point['value'])):.1f}")
            parts.append(f'<circle cx="{position[period]:.1f}" cy="{y(float(point["value"])):.1f}" r="2.5" '
                         f'fill="{LINK_BLUE}"/>')
            continue
        if len(run) > 1:
            parts.append(f'<polyline fill="none" stroke="{LINK_BLUE}" stroke-width="2.5" points="{" ".join(run)}"/>')
        run = []
        if point is not None and period in starts:  # a run of missing figures: its symbol once, at the foot
            parts.append(f'<text x="{position[period]:.1f}" y="{top + plot_h - 4}" text-anchor="middle" '
                         f'font-weight="bold">{escape(str(point.get("status") or "x"))}</text>')
    labels = {p: period_label(p, curve.period_type) for p in periods}
    by_label = {v: k for k, v in labels.items()}
    for label, text in action_marks(curve, labels):
        x = position[by_label[label]]
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{ACTION_COLOUR}" '
                     'stroke-dasharray="3 3"/>')
        parts.append(f'<text x="{x + 3:.1f}" y="{top + 10}" fill="{ACTION_COLOUR}">{escape(text.split(":")[0])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def curve_key(curve: Curve) -> str:
    """The words that go under a curve drawn without a legend: what each line is."""
    parts = ["solid blue: published figures (c or x at the foot where a figure is missing)"]
    if curve.forecast is not None:
        parts.append(f"dashed grey: {curve.forecast.label.lower()}, its 95% interval shaded")
    if curve.target is not None:
        unit, decimals = str(curve.meta["unit"]), int(curve.meta.get("decimals") or 0)
        parts.append(f"green dashes: target {format_value(curve.target, unit, decimals)}")
    if curve.actions:
        parts.append("red dotted lines: where actions A1, A2... started")
    return "; ".join(parts) + "."
