"""Pure builders for the dashboard's charts and the words around numbers: value formats, status symbols.

Nothing here reads data or knows about Dash; tests call these functions directly with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

TEXT = "#0b0c0c"
LINK_BLUE = "#1d70b8"
MID_GREY = "#505a5f"
PANEL_GREY = "#f3f2f1"
FONT = "Arial, Helvetica, sans-serif"

# Symbols for missing figures, as in the Government Statistical Service's guidance on symbols.
STATUS_TEXT = {
    "c": "suppressed to protect confidentiality (small numbers)",
    "z": "not applicable (for example, nobody to count)",
    "x": "not available",
}
POLARITY_TEXT = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
    "neutral": "neither higher nor lower is better",
}
PERIOD_AXIS = {"month": "Month", "reporting_year": "Reporting year (April to March)"}
UNIT_AXIS = {
    "percent": "Percent",
    "count": "Number",
    "gbp": "Pounds (£)",
    "ratio": "Ratio",
}


def format_value(value: float | None, unit: str, decimals: int, *, with_unit: bool = True) -> str:
    """A figure as a reader expects it: '675.7 per 10,000', '16.8%', '£1.2m', '1,204', '17.3'."""
    if value is None:
        return "no figure"
    if unit == "gbp":
        return _format_money(value)
    number = f"{value:,.{decimals}f}"
    if not with_unit:
        return number
    if unit == "percent":
        return f"{number}%"
    if unit == "rate_per_10000":
        return f"{number} per 10,000"
    return number


def _format_money(value: float) -> str:
    sign = "-" if value < 0 else ""
    size = abs(value)
    # Spend runs from thousands to hundreds of millions: abbreviate as finance reports do.
    if size >= 1e9:
        return f"{sign}£{size / 1e9:,.1f}bn"
    if size >= 1e6:
        return f"{sign}£{size / 1e6:,.1f}m"
    if size >= 1e4:
        return f"{sign}£{size / 1e3:,.0f}k"
    return f"{sign}£{size:,.0f}"


def status_explanation(status: str | None) -> str:
    """Plain words for a status symbol; empty for an ordinary figure."""
    return STATUS_TEXT.get(status or "", "")


def polarity_text(polarity: str) -> str:
    return POLARITY_TEXT.get(polarity, "neither higher nor lower is better")


def axis_title(unit: str, unit_label: str | None) -> str:
    """The value axis title: the unit label from the catalogue, spelled out where it is terse."""
    if unit == "rate_per_10000":
        label = f"Rate {unit_label}" if unit_label else "Rate per 10,000 children"
        # A rotated title longer than the plot is tall runs into the chart title: break it in two.
        return label.replace(" children", "<br>children", 1) if len(label) > 24 else label
    return UNIT_AXIS.get(unit, unit_label or "Value")


def category_ticks(labels: Sequence[str], most: int = 8) -> list[str]:
    """Every n-th period label, so that at most `most` labels share the axis and none overlap.

    n is a whole number of quarters or years where it can be, so monthly labels fall on the same
    month of each year rather than wandering through it.
    """
    fits = [step for step in (1, 2, 3, 4, 6, 12, 24, 36, 60) if -(-len(labels) // step) <= most]
    step = fits[0] if fits else -(-len(labels) // most)
    return list(labels[::step])


def history_figure(points: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                   period_type: str) -> go.Figure:
    """The history of one measure as a line with gaps where figures are suppressed or missing.

    `points` are dicts with period_label, value and status, oldest first; `meta` is the catalogue
    entry (name, unit, unit_label, decimals, polarity). The line never joins across a gap, and each
    gap is labelled with its status symbol so a missing figure is not read as a fall to zero.
    """
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    labels = [str(p["period_label"]) for p in points]
    values = [p["value"] if p.get("status") == "ok" else None for p in points]
    shown = [format_value(v, unit, decimals) if v is not None
             else f"{p.get('status')}: {status_explanation(p.get('status'))}"
             for p, v in zip(points, values, strict=True)]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=labels, y=values, mode="lines+markers", name=str(meta["name"]), connectgaps=False,
        line={"color": LINK_BLUE, "width": 3}, marker={"size": 7, "color": LINK_BLUE},
        customdata=shown, hovertemplate="%{x}: %{customdata}<extra></extra>",
    ))
    gaps = [(label, p.get("status")) for label, p, v in zip(labels, points, values, strict=True) if v is None]
    for label, status in gaps:
        # Paper coordinates on y: the symbol sits at the foot of the plot, not at a pretend value.
        figure.add_annotation(x=label, y=0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
                              text=f"<b>{status or 'x'}</b>", font={"color": TEXT, "size": 14},
                              hovertext=status_explanation(status) or "no figure")
    subtitle = " · ".join([str(meta.get("unit_label") or axis_title(unit, None)),
                           PERIOD_AXIS.get(period_type, period_type),
                           polarity_text(str(meta.get("polarity")))])
    if gaps:
        subtitle += " · gaps mark missing figures"
    figure.update_layout(
        title={"text": str(meta["name"]), "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
        font={"family": FONT, "color": TEXT, "size": 14},
        xaxis={"title": {"text": PERIOD_AXIS.get(period_type, "Period")}, "type": "category",
               "showgrid": False, "linecolor": MID_GREY, "automargin": True,
               "tickmode": "array", "tickvals": category_ticks(labels), "tickangle": 0},
        yaxis={"title": {"text": axis_title(unit, meta.get("unit_label"))}, "gridcolor": "#dcdcdc",
               "rangemode": "tozero" if unit in ("count", "percent", "rate_per_10000", "gbp") else "normal",
               "tickformat": f",.{decimals}f" if unit != "gbp" else ",.3s", "zeroline": False,
               "automargin": True},
        showlegend=False, plot_bgcolor="white", paper_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 90, "b": 60}, height=400,
    )
    if unit == "gbp":
        figure.update_yaxes(tickprefix="£")
    if unit == "percent":
        figure.update_yaxes(ticksuffix="%")
    return figure


def sparkline_figure(values: Sequence[float | None], statuses: Sequence[str] | None = None) -> dict[str, Any]:
    """A tiny line of recent figures for a scorecard row: no axes, gaps where figures are missing.

    A plain figure dictionary, not a `go.Figure`: a scorecard draws one per measure, and plotly's
    validation of forty small figures took most of the scorecard's response time.
    """
    statuses = statuses or ["ok"] * len(values)
    ys = [v if s == "ok" else None for v, s in zip(values, statuses, strict=True)]
    xs = list(range(len(ys)))
    data: list[dict[str, Any]] = [{"type": "scatter", "x": xs, "y": ys, "mode": "lines", "connectgaps": False,
                                   "hoverinfo": "skip", "line": {"color": TEXT, "width": 1.5}}]
    last = next((i for i in range(len(ys) - 1, -1, -1) if ys[i] is not None), None)
    if last is not None:
        data.append({"type": "scatter", "x": [last], "y": [ys[last]], "mode": "markers", "hoverinfo": "skip",
                     "marker": {"color": LINK_BLUE, "size": 5}})
    layout = {"xaxis": {"visible": False, "fixedrange": True}, "yaxis": {"visible": False, "fixedrange": True},
              "showlegend": False, "margin": {"l": 2, "r": 2, "t": 2, "b": 2}, "height": 32, "width": 110,
              "plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)"}
    return {"data": data, "layout": layout}
