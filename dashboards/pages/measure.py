"""A measure's page: its curve with history, the frozen forecast and its interval, scenarios, target and the
national comparators; what it measures, which way is better and where it comes from; the turn-the-curve
verdict; and the story behind the curve. Opened from the scorecard as /measure?indicator=..&area=..&period=..
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.auth import audit
from dashboards.figures import format_value
from dashboards.layout import about_items, aria
from dashboards.measure_figures import Curve, choose_forecast, curve_rows, measure_figure, scenario_series
from oba_pipeline.catalogue.codes import code_label
from oba_pipeline.config import Home

dash.register_page(__name__, path="/measure", name="A measure", title="A measure - OBA toolkit", order=5)

DIMENSIONS = {"locality": "Locality", "age_band": "Age band", "sex": "Sex", "ethnicity": "Ethnicity",
              "referral_source": "Referral source", "category_of_plan": "Category of plan",
              "episode_type": "Episode type", "instrument": "Instrument", "s251_line": "Section 251 line",
              "primary_need_code": "Category of need", "cpp_category": "Category of plan", "team": "Team",
              "theme": "Theme"}


def measure_href(indicator_id: str, area_code: str, period_type: str, path: str = "/measure") -> str:
    return f"{path}?{urlencode({'indicator': indicator_id, 'area': area_code, 'period': period_type})}"


def layout(indicator: str | None = None, area: str | None = None, period: str | None = None,
           **_query: str) -> html.Div:
    """The page as first served, for the measure, area and period named in the address (or the first ones)."""
    return page_content(current_home(), indicator, area, period)


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def choices(home: Home, indicator_id: str | None, area_code: str | None,
            period_type: str | None) -> tuple[pl.DataFrame, pl.DataFrame, list[str], str, str, str] | None:
    """The catalogue, the areas the reader may see, the period types, and the choice made (or the first)."""
    entries = data.catalogue(home)
    area_frame = data.areas(home)
    kinds = data.period_types(home)
    if entries.is_empty() or area_frame.is_empty() or not kinds:
        return None
    ids = entries.get_column("indicator_id").to_list()
    codes = area_frame.get_column("area_code").to_list()
    chosen_id = indicator_id if indicator_id in ids else str(ids[0])
    chosen_area = area_code if area_code in codes else str(codes[0])
    chosen_period = period_type if period_type in kinds else ("month" if "month" in kinds else kinds[0])
    return entries, area_frame, kinds, chosen_id, chosen_area, chosen_period


def page_content(home: Home, indicator_id: str | None, area_code: str | None, period_type: str | None) -> html.Div:
    chosen = choices(home, indicator_id, area_code, period_type)
    if chosen is None:
        return html.Div([html.H1("A measure"), html.P(
            "No figures have been published yet, or none for the areas you may see. Run a refresh of the "
            "pipeline; this page shows the snapshot as soon as it is published.", id="measure-empty")],
            className="oba-page")
    entries, area_frame, kinds, chosen_id, chosen_area, chosen_period = chosen
    return html.Div([
        html.H1("A measure and its curve"),
        html.P("How one measure is doing in one area: its history, where it goes if nothing changes, the "
               "target, how it compares, and the story behind it.", className="oba-lede"),
        measure_controls("measure", entries, area_frame, kinds, chosen_id, chosen_area, chosen_period),
        html.Div(measure_body(home, chosen_id, chosen_area, chosen_period), id="measure-body"),
    ], className="oba-page")


def measure_controls(prefix: str, entries: pl.DataFrame, area_frame: pl.DataFrame, kinds: Sequence[str],
                     indicator_id: str, area_code: str, period_type: str) -> html.Div:
    """Measure, area and period choosers with visible labels (shared with the session page)."""
    return html.Div([
        html.Div([
            html.Label("Measure", htmlFor=f"{prefix}-indicator", className="oba-label"),
            dcc.Dropdown(id=f"{prefix}-indicator", value=indicator_id, clearable=False, searchable=True,
                         options=[{"label": r["name"], "value": r["indicator_id"]}
                                  for r in entries.iter_rows(named=True)], className="oba-dropdown"),
        ], className="oba-control"),
        html.Div([
            html.Label("Area", htmlFor=f"{prefix}-area", className="oba-label"),
            dcc.Dropdown(id=f"{prefix}-area", value=area_code, clearable=False, searchable=False,
                         options=[{"label": f"{r['area_name']} ({r['area_type']})", "value": r["area_code"]}
                                  for r in area_frame.iter_rows(named=True)], className="oba-dropdown"),
        ], className="oba-control"),
        html.Fieldset([
            html.Legend("Period", className="oba-label"),
            dcc.RadioItems(id=f"{prefix}-period", value=period_type, className="oba-radios",
                           labelClassName="oba-radio",
                           options=[{"label": data.PERIOD_TYPE_LABELS.get(k, k), "value": k} for k in kinds]),
        ], className="oba-control oba-fieldset"),
    ], className="oba-controls")


def build_curve(home: Home, meta: dict[str, Any], area_code: str, period_type: str,
                cycle_id: int | None = None, actions: Sequence[Any] = ()) -> tuple[Curve, pl.DataFrame]:
    """Everything the curve shows for one measure and area, and the published baseline rows it came from.

    `cycle_id` (a session's cycle) makes that cycle's frozen baseline the forecast even before a refresh has
    published it; `actions` (with start_date and description) are marked where they started.
    """
    indicator_id = str(meta["indicator_id"])
    history = data.history(home, indicator_id, area_code, period_type).to_dicts()
    baselines = data.measure_baselines(home, indicator_id, area_code, period_type)
    rows = baselines.to_dicts()
    cycle = data.cycle_forecast(home, cycle_id) if cycle_id is not None else None
    if cycle is not None:
        rows = [r for r in rows if r["series"] != "vintage" or r.get("vintage_id") == cycle["vintage_id"]]
    score = data.ttc_scorecard(home, area_code, period_type).filter(pl.col("indicator_id") == indicator_id)
    target = score.get_column("target")[0] if score.height else None
    _, benchmark_rows = data.comparators(home, indicator_id, area_code)
    curve = Curve(meta=meta, period_type=period_type, history=history, forecast=choose_forecast(rows, cycle),
                  scenarios=scenario_series(rows), target=target, comparators=benchmark_rows.to_dicts(),
                  actions=[(a.start_date, a.description) for a in actions])
    return curve, baselines


def measure_body(home: Home, indicator_id: str | None, area_code: str | None, period_type: str | None) -> list[Any]:
    if not indicator_id or not area_code or not period_type:
        return [html.P("Choose a measure, an area and a period.")]
    meta = data.indicator(home, indicator_id)
    area_frame = data.areas(home).filter(pl.col("area_code") == area_code)
    if meta is None or area_frame.is_empty():
        return [html.P("There are no figures to show for that measure and area.", id="measure-status")]
    area_name = str(area_frame.get_column("area_name")[0])
    period_words = data.PERIOD_TYPE_PHRASES.get(period_type, period_type)
    audit("view", area_code, page="measure", indicator_id=indicator_id, period_type=period_type)
    curve, baselines = build_curve(home, meta, area_code, period_type)
    verdicts = data.area_verdicts(home, area_code, period_type).filter(pl.col("indicator_id") == indicator_id)
    comparator_meta, _ = data.comparators(home, indicator_id, area_code)
    return [
        html.H2(str(meta["name"]), id="measure-heading"),
        html.P(f"{area_name}, {period_words} figures.", role="status", id="measure-status",
               className="oba-status"),
        html.Dl(about_items(meta), className="oba-facts oba-panel", id="measure-about"),
        verdict_panel(verdicts.to_dicts()),
        curve_section(curve, "measure"),
        downloads.download_buttons("history", f"the published figures of {meta['name']}, {area_name}",
                                   indicator_id=indicator_id, area_code=area_code, period_type=period_type),
        downloads.download_buttons("baselines", f"the forecasts, vintages and scenarios of {meta['name']}, "
                                   f"{area_name}", indicator_id=indicator_id, area_code=area_code,
                                   period_type=period_type),
        forecast_notes(curve, baselines, comparator_meta, period_type),
        story_section(data.story_behind_the_curve(home, indicator_id, area_code), meta),
        downloads.download_buttons("story_behind_the_curve", f"the story behind the curve of {meta['name']}, "
                                   f"{area_name}", indicator_id=indicator_id, area_code=area_code),
        html.P(dcc.Link("Hold a turn-the-curve session on this curve",
                        href=measure_href(indicator_id, area_code, period_type, "/session"),
                        id="measure-session-link"), className="oba-lede"),
    ]


def chosen_verdict(verdicts: Sequence[dict[str, Any]], cycle_id: int | None = None) -> dict[str, Any] | None:
    """The verdict against the cycle asked for, else the latest cycle's, else the provisional baseline's."""
    if cycle_id is not None:
        return next((v for v in verdicts if v.get("cycle_id") == cycle_id), None)
    cycles = [v for v in verdicts if v.get("cycle_id") is not None]
    if cycles:
        return max(cycles, key=lambda v: int(v["cycle_id"]))
    return next((v for v in verdicts if v.get("baseline") == "provisional"), None)


def verdict_panel(verdicts: Sequence[dict[str, Any]], cycle_id: int | None = None) -> html.Div:
    verdict = chosen_verdict(verdicts, cycle_id)
    if verdict is None:
        return html.Div(html.P("No turn-the-curve verdict has been published for this measure yet."),
                        className="oba-panel", id="measure-verdict")
    against = (f"against the baseline frozen for {verdict['cycle_name']}" if verdict.get("cycle_name")
               else "against the forecast made a year before the latest figures")
    parts: list[Any] = [html.H3("Has the curve turned?", className="oba-heading-s"),
                        html.P([html.Strong(str(verdict.get("overall_label") or verdict.get("overall"))),
                                f", {against}."])]
    if verdict.get("window_from") and verdict.get("window_to"):
        parts.append(html.P(f"Judged on {verdict.get('periods_judged') or 0} published periods from "
                            f"{verdict['window_from']:%B %Y} to {verdict['window_to']:%B %Y}.", className="oba-small"))
    if verdict.get("reason"):
        parts.append(html.P(str(verdict["reason"]), className="oba-small"))
    evidence = [verdict.get(f"{test}_evidence") for test in ("beyond_interval", "sustained", "slope_turned", "slowing")]
    if any(evidence):
        parts.append(html.Details([html.Summary("The evidence, test by test"),
                                   html.Ul([html.Li(str(e)) for e in evidence if e], className="oba-list")],
                                  className="oba-details"))
    return html.Div(parts, className="oba-panel", id="measure-verdict")


def curve_section(curve: Curve, prefix: str) -> html.Section:
    """The chart and, as its text alternative, the same figures in a table."""
    rows = curve_rows(curve)
    extra = [key for key in (rows[0] if rows else {}) if key.startswith("Scenario: ")]
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in
                               ("Period", "Figure", "Forecast", "95% interval", *extra)]))
    body = html.Tbody([html.Tr([html.Th(r["period"], scope="row"), html.Td(r["figure"], className="oba-num"),
                                html.Td(r["forecast"], className="oba-num"), html.Td(r["interval"]),
                                *[html.Td(r.get(k, "")) for k in extra]]) for r in rows])
    name = str(curve.meta["name"])
    return html.Section([
        dcc.Graph(id=f"{prefix}-chart", figure=measure_figure(curve),
                  config={**downloads.graph_config(f"{name} {curve.period_type}"), "responsive": True}),
        html.Details([html.Summary("The chart's figures as a table"),
                      html.Table([html.Caption(f"Figures behind the chart: {name}"), head, body],
                                 className="oba-table", id=f"{prefix}-chart-table")], className="oba-details"),
    ], **aria(label=f"Curve of {name}"))


def forecast_notes(curve: Curve, baselines: pl.DataFrame, comparator_meta: dict[str, Any] | None,
                   period_type: str) -> html.Div:
    """What the dashed line is, the target, each scenario's author and reason, and the comparators used."""
    unit, decimals = str(curve.meta["unit"]), int(curve.meta.get("decimals") or 0)
    notes: list[Any] = []
    if curve.forecast is None:
        notes.append(html.Li("No forecast: there are too few published figures to make one."))
    else:
        kind = ("frozen when the cycle started, so later figures are judged against it" if curve.forecast.frozen
                else "the latest statistical forecast; it is frozen when a turn-the-curve cycle starts")
        notes.append(html.Li(f"{curve.forecast.label}: {kind}. The shaded band is its 95% prediction interval."))
    notes.append(html.Li(f"Target: {format_value(curve.target, unit, decimals)}." if curve.target is not None
                         else "No target has been set (oba ttc target)."))
    scenario_notes = baselines.filter(pl.col("series") == "scenario").unique("scenario", keep="first",
                                                                             maintain_order=True)
    for row in scenario_notes.iter_rows(named=True):
        notes.append(html.Li(f"Scenario {row['scenario']}: {row['note'] or 'no reason recorded'}."))
    if comparator_meta is not None:
        where = ("drawn on the chart" if period_type == "reporting_year"
                 else "drawn on the reporting-year chart (choose Reporting year)")
        notes.append(html.Li(f"Comparators: England and the statistical neighbours' median on the published "
                             f"measure '{comparator_meta['name']}', {where}."))
    return html.Div([html.H3("About the lines", className="oba-heading-s"), html.Ul(notes, className="oba-list")],
                    className="oba-panel", id="measure-notes")


def story_section(story: pl.DataFrame, meta: dict[str, Any]) -> html.Section:
    """The story behind the curve: per breakdown, which groups moved the measure, largest first."""
    heading = html.H3("The story behind the curve")
    if story.is_empty():
        return html.Section([heading, html.P("No breakdown has been published for this measure and area.")],
                            id="measure-story")
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    first = story.row(0, named=True)
    parts: list[Any] = [heading, html.P(
        f"What moved the measure between the 12 months before the latest 12 and the latest 12 (to "
        f"{first['after_to']:%B %Y}); contributions add up to the change of "
        f"{first['total_change']:+,.{decimals}f}. Groups marked c count 1 to 5 people and are not shown.",
        className="oba-hint")]
    for dimension in story.get_column("dimension").unique(maintain_order=True).to_list():
        rows = story.filter(pl.col("dimension") == dimension).sort("rank")
        label = DIMENSIONS.get(str(dimension), str(dimension).replace("_", " ").capitalize())
        head = html.Thead(html.Tr([html.Th(t, scope="col") for t in
                                   (label, "Year before", "Latest year", "Contribution", "Share of the change")]))
        body = html.Tbody([html.Tr([
            html.Th(code_label(str(dimension), str(r["group_value"])), scope="row"),
            *([html.Td("c"), html.Td("c"), html.Td("c", className="oba-num"), html.Td("")] if r["status"] != "ok" else [
                html.Td(format_value(r["before_value"], unit, decimals)),
                html.Td(format_value(r["after_value"], unit, decimals)),
                html.Td(f"{r['contribution']:+,.{decimals}f}" if r["contribution"] is not None else "",
                        className="oba-num"),
                html.Td(f"{r['share_of_change'] * 100:,.0f}%" if r["share_of_change"] is not None else "")]),
        ]) for r in rows.iter_rows(named=True)])
        parts.append(html.Table([html.Caption(f"Story behind the curve by {label.lower()}"), head, body],
                                className="oba-table"))
    return html.Section(parts, id="measure-story")


# --- Callbacks (thin wrappers) -----------------------------------------------------------------------


@callback(Output("measure-body", "children"),
          Input("measure-indicator", "value"), Input("measure-area", "value"), Input("measure-period", "value"),
          prevent_initial_call=True)
def _update(indicator_id: str | None, area_code: str | None, period_type: str | None) -> list[Any]:
    return measure_body(current_home(), indicator_id, area_code, period_type)
