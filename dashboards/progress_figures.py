"""Pure builders for the progress maps: trend against comparators, ranked neighbours, scatter, quartile tiles.

Nothing here reads data or knows about Dash; each builder takes plain records and returns a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from dashboards.figures import FONT, MID_GREY, TEXT, axis_title, format_value, polarity_text

HOME_COLOUR = "#d4351c"  # the home authority stands out in every chart
NEIGHBOUR_COLOUR = "#5694ca"
REGION_COLOUR = "#00703c"
ENGLAND_COLOUR = TEXT
LOCAL_COLOUR = "#912b88"
# Quartile bands from best (1) to worst (4), and a neutral grey where there is no figure.
QUARTILE_COLOURS = {1: "#0b4f8a", 2: "#5694ca", 3: "#f4a261", 4: "#c0392b", None: "#b1b4b6"}
QUARTILE_TEXT = {1: "Quartile 1 (best quarter)", 2: "Quartile 2", 3: "Quartile 3", 4: "Quartile 4 (worst quarter)",
                 None: "No figure"}


def _layout(figure: go.Figure, title: str, subtitle: str, meta: Mapping[str, Any], *, height: int = 420,
            value_axis: str = "y") -> go.Figure:
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    axis = {"title": {"text": axis_title(unit, meta.get("unit_label"))}, "gridcolor": "#dcdcdc", "zeroline": False,
            "automargin": True, "tickformat": f",.{decimals}f" if unit != "gbp" else ",.0f"}
    if unit == "gbp":
        axis["tickprefix"] = "£"
    if unit == "percent":
        axis["ticksuffix"] = "%"
    figure.update_layout(
        title={"text": title, "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
        font={"family": FONT, "color": TEXT, "size": 14}, plot_bgcolor="white", paper_bgcolor="white",
        margin={"l": 70, "r": 20, "t": 90, "b": 60}, height=height,
        legend={"orientation": "h", "y": -0.2, "x": 0},
    )
    figure.update_layout({f"{value_axis}axis": axis})
    return figure


def trend_figure(series: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], authority: str,
                 local: Sequence[Mapping[str, Any]] = (), local_name: str | None = None) -> go.Figure:
    """The authority's published figure by year against its neighbours' median and mean, region and England.

    `series` rows are benchmark rows oldest first; `local` (optional) are the partnership's own
    reporting-year figures for the linked local indicator, drawn on the same axis.
    """
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    labels = [str(r["period_label"]) for r in series]

    def line(name: str, values: list[float | None], colour: str, dash: str = "solid", width: int = 2,
             xs: list[str] | None = None) -> go.Scatter:
        shown = [format_value(v, unit, decimals) for v in values]
        return go.Scatter(x=xs or labels, y=values, name=name, mode="lines+markers", connectgaps=False,
                          line={"color": colour, "dash": dash, "width": width}, customdata=shown,
                          hovertemplate=f"{name}, %{{x}}: %{{customdata}}<extra></extra>")

    figure = go.Figure()
    model = next((r.get("neighbour_model_name") for r in series if r.get("neighbour_model_name")), None)
    figure.add_trace(line("England", [r.get("england_value") for r in series], ENGLAND_COLOUR, "dot"))
    region = next((r.get("region_name") for r in series if r.get("region_name")), "Region")
    figure.add_trace(line(str(region), [r.get("region_value") for r in series], REGION_COLOUR, "dashdot"))
    figure.add_trace(line("Neighbours' mean", [r.get("neighbours_mean") for r in series], NEIGHBOUR_COLOUR, "dash"))
    figure.add_trace(line("Neighbours' median", [r.get("neighbours_median") for r in series], NEIGHBOUR_COLOUR))
    figure.add_trace(line(authority, [r["value"] if r.get("status") == "ok" else None for r in series],
                          HOME_COLOUR, width=4))
    if local:
        figure.add_trace(line(f"{local_name or 'Local'} (own extracts)",
                              [p["value"] if p.get("status") == "ok" else None for p in local], LOCAL_COLOUR,
                              "dash", 3, xs=[str(p["period_label"]) for p in local]))
    subtitle = " · ".join(filter(None, [str(meta.get("unit_label") or ""), polarity_text(str(meta.get("polarity"))),
                                        f"neighbours: {model}" if model else "no neighbour model loaded"]))
    figure = _layout(figure, f"{meta['name']}: {authority} against its comparators", subtitle, meta)
    figure.update_xaxes(title={"text": "Year"}, type="category", showgrid=False, linecolor=MID_GREY,
                        categoryorder="category ascending")
    return figure


def ranked_bar_figure(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], home_code: str,
                      period_label: str) -> go.Figure:
    """The authority and its neighbours ranked by their figure, the authority highlighted, best at the top."""
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    ranked = sorted((r for r in rows if r.get("status") == "ok"), key=lambda r: (r.get("rank") or 0))
    missing = [r for r in rows if r.get("status") != "ok"]
    ordered = [*reversed(ranked), *missing]  # horizontal bars draw bottom-up: best last, so on top
    names = [f"<b>{r['area_name']}</b>" if r["area_code"] == home_code else str(r["area_name"]) for r in ordered]
    values = [r["value"] if r.get("status") == "ok" else 0 for r in ordered]
    text = [format_value(r["value"], unit, decimals) if r.get("status") == "ok" else f"{r.get('status')}: no figure"
            for r in ordered]
    colours = [HOME_COLOUR if r["area_code"] == home_code else NEIGHBOUR_COLOUR for r in ordered]
    figure = go.Figure(go.Bar(x=values, y=names, orientation="h", marker={"color": colours}, text=text,
                              textposition="outside", cliponaxis=False, hovertemplate="%{y}: %{text}<extra></extra>"))
    england = next((r.get("england_value") for r in rows if r.get("england_value") is not None), None)
    if england is not None:
        figure.add_vline(x=england, line={"color": ENGLAND_COLOUR, "dash": "dot"},
                         annotation={"text": f"England {format_value(england, unit, decimals)}", "yanchor": "top"},
                         annotation_position="bottom right")
    subtitle = f"{period_label} · best at the top ({polarity_text(str(meta.get('polarity')))}) · highlighted: home"
    figure = _layout(figure, f"{meta['name']}: statistical neighbours", subtitle, meta,
                     height=140 + 32 * max(len(ordered), 1), value_axis="x")
    figure.update_layout(showlegend=False, margin={"l": 200, "r": 80, "t": 90, "b": 60})
    figure.update_yaxes(type="category", automargin=True)
    return figure


def line_of_best_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float] | None:
    """Ordinary least squares of y on x: (intercept, slope, R squared), or None with under three points."""
    if len(xs) < 3 or len(set(xs)) < 2:
        return None
    # numpy's least-squares polynomial fit: the same line as an OLS regression of y on x, without
    # importing a modelling library (seconds) into a dashboard callback.
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
    residual = float(np.sum((y - (intercept + slope * x)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    return intercept, slope, (1.0 - residual / total) if total else 0.0


def scatter_figure(points: Sequence[Mapping[str, Any]], x_meta: Mapping[str, Any], y_meta: Mapping[str, Any],
                   home_code: str, period_label: str) -> go.Figure:
    """Every authority on two measures in one year, with the least-squares line and the authority highlighted.

    `points` carry area_code, area_name, x and y (authorities with both figures only).
    """
    xs = [float(p["x"]) for p in points]
    ys = [float(p["y"]) for p in points]
    hover = [f"{p['area_name']}: {format_value(p['x'], str(x_meta['unit']), int(x_meta['decimals']))}, "
             f"{format_value(p['y'], str(y_meta['unit']), int(y_meta['decimals']))}" for p in points]
    figure = go.Figure(go.Scatter(x=xs, y=ys, mode="markers", name="Authorities", text=hover,
                                  marker={"color": NEIGHBOUR_COLOUR, "size": 8, "opacity": 0.8},
                                  hovertemplate="%{text}<extra></extra>"))
    fit = line_of_best_fit(xs, ys)
    subtitle = f"{period_label} · {len(points)} authorities"
    if fit is not None:
        intercept, slope, r_squared = fit
        ends = [min(xs), max(xs)]
        figure.add_trace(go.Scatter(x=ends, y=[intercept + slope * x for x in ends], mode="lines",
                                    name="Line of best fit (least squares)", line={"color": TEXT, "width": 2},
                                    hoverinfo="skip"))
        subtitle += f" · line of best fit: R² = {r_squared:.2f}"
    home = [p for p in points if p["area_code"] == home_code]
    if home:
        figure.add_trace(go.Scatter(x=[home[0]["x"]], y=[home[0]["y"]], mode="markers+text", name=home[0]["area_name"],
                                    text=[home[0]["area_name"]], textposition="top center",
                                    marker={"color": HOME_COLOUR, "size": 14, "line": {"color": TEXT, "width": 1}},
                                    hoverinfo="skip"))
    figure = _layout(figure, f"{y_meta['name']} against {x_meta['name']}", subtitle, y_meta)
    x_axis: dict[str, Any] = {"title": {"text": f"{x_meta['name']}"}, "gridcolor": "#dcdcdc", "zeroline": False}
    if x_meta["unit"] == "gbp":
        x_axis["tickprefix"] = "£"
    if x_meta["unit"] == "percent":
        x_axis["ticksuffix"] = "%"
    figure.update_xaxes(**x_axis)
    figure.update_yaxes(title={"text": str(y_meta["name"])})
    return figure


def tile_grid_figure(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], home_code: str,
                     period_label: str) -> go.Figure:
    """England's authorities as tiles coloured by quartile band, one row per region, best first in each row.

    Plotly ships no boundaries for English local authorities, so this is a tile grid grouped by
    region rather than a geographic map.
    """
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    regions = sorted({str(r.get("region_name") or "Region not known") for r in rows})
    figure = go.Figure()
    for quartile, colour in QUARTILE_COLOURS.items():
        band = [r for r in rows if (r.get("quartile") if r.get("status") == "ok" else None) == quartile]
        xs, ys, hover = [], [], []
        for region in regions:
            members = sorted((r for r in rows if str(r.get("region_name") or "Region not known") == region),
                             key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["area_name"]))
            for position, member in enumerate(members):
                if member in band:
                    xs.append(position)
                    ys.append(region)
                    shown = format_value(member["value"], unit, decimals) if member.get("status") == "ok" \
                        else f"{member.get('status')}: no figure"
                    hover.append(f"{member['area_name']}: {shown} · {QUARTILE_TEXT[quartile]}")
        if xs:
            figure.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=QUARTILE_TEXT[quartile], text=hover,
                                        marker={"symbol": "square", "size": 16, "color": colour},
                                        hovertemplate="%{text}<extra></extra>"))
    home = next((r for r in rows if r["area_code"] == home_code), None)
    if home is not None:
        region = str(home.get("region_name") or "Region not known")
        members = sorted((r for r in rows if str(r.get("region_name") or "Region not known") == region),
                         key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["area_name"]))
        figure.add_trace(go.Scatter(x=[members.index(home)], y=[region], mode="markers", name=str(home["area_name"]),
                                    marker={"symbol": "square-open", "size": 22, "color": HOME_COLOUR,
                                            "line": {"width": 3}}, hoverinfo="skip"))
    subtitle = f"{period_label} · each square an authority, best first in each region · outlined: home"
    figure = _layout(figure, f"{meta['name']}: quartile bands across England", subtitle, meta,
                     height=140 + 34 * max(len(regions), 1))
    figure.update_xaxes(visible=False)
    figure.update_yaxes(title={"text": ""}, type="category", categoryorder="array",
                        categoryarray=list(reversed(regions)), tickformat="", ticksuffix="", tickprefix="")
    return figure
