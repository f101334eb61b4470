"""Scorecard page: every indicator and performance measure for one area, with its latest figure and trend.

Population indicators are grouped under the result they measure; performance measures under their
service and the three OBA questions. Choosing a measure opens its history, definition and figures.
Callbacks are thin wrappers: the builders below take plain arguments and are unit-tested directly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import dash
import polars as pl
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.auth import audit
from dashboards.figures import (
    format_value,
    history_figure,
    sparkline_figure,
    status_explanation,
)
from dashboards.layout import KIND_TEXT, about_items, aria
from oba_pipeline.catalogue.catalogue import QUADRANTS
from oba_pipeline.config import Home

dash.register_page(__name__, path="/", name="Scorecard", title="Scorecard - OBA toolkit", order=0)

log = logging.getLogger(__name__)

ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
DIRECTION_TEXT = {"up": "Up", "down": "Down", "flat": "Level"}
PERIOD_NOUN = {"month": ("month", "months"), "reporting_year": ("year", "years")}
DEFAULT_PERIOD_TYPE = "month"
COLUMNS = ("Measure", "Kind", "Latest figure", "Previous figure", "Trend", "Recent periods", "Unit",
           "Target", "Forecast", "Since the baseline began", "Turn the curve")
TTC_VERDICTS = {
    "better": "Better than the baseline", "worse": "Worse than the baseline",
    "slowing": "Still worsening, more slowly", "on_baseline": "On the baseline",
    "higher": "Above the baseline", "lower": "Below the baseline", "withheld": "No verdict",
}


def layout(**_query: str) -> Any:
    """The page as first served: built once per live snapshot and reader, the view audited every time."""
    home = current_home()
    content = _kept_page(home)
    area_frame = data.areas(home)
    if area_frame.height:
        audit_view(home, str(area_frame.get_column("area_code")[0]), default_period(data.period_types(home)))
    return content


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def page_content(home: Home) -> html.Div:
    """The whole page for the live snapshot, or a plain explanation when nothing is published."""
    info = data.snapshot_info(home)
    area_frame = data.areas(home) if info else pl.DataFrame(schema=data.AREA_SCHEMA)
    kinds = data.period_types(home) if info else []
    if info is None or area_frame.is_empty():
        return html.Div([html.H1("Scorecard"), empty_state(info is None)], className="oba-page")
    area_code = str(area_frame.get_column("area_code")[0])
    period_type = default_period(kinds)
    return html.Div([
        html.H1("Scorecard"),
        html.P("Every population indicator and performance measure for one area, with its latest "
               "figure, the figure before it and which way it is heading. Choose a measure's name to "
               "see its history.", className="oba-lede"),
        freshness_panel(info, data.sources(home)),
        controls(area_frame, kinds, area_code, period_type),
        filters(data.catalogue(home)),
        dcc.Store(id="scorecard-selected"),
        dcc.Store(id="scorecard-focus"),
        dcc.Store(id="scorecard-focus-done"),
        html.Section(detail_placeholder(), id="scorecard-detail", className="oba-detail",
                     **aria(label="Measure history")),
        html.Div(scorecard_body(home, area_code, period_type), id="scorecard-body"),
    ], className="oba-page")


def default_period(kinds: Sequence[str]) -> str:
    """The period type the page opens on: months where there are monthly figures."""
    return DEFAULT_PERIOD_TYPE if DEFAULT_PERIOD_TYPE in kinds else (kinds[0] if kinds else "month")


def audit_view(home: Home, area_code: str | None, period_type: str | None) -> None:
    """Record that the reader was shown the scorecard of an area they may see (what scorecard_body shows)."""
    if area_code and period_type and area_code in data.areas(home).get_column("area_code").to_list():
        audit("view", area_code, page="scorecard", period_type=period_type)


def empty_state(nothing_published: bool) -> html.Div:
    reason = ("No figures have been published yet." if nothing_published
              else "The published snapshot has no areas, so there is nothing to show.")
    return html.Div([
        html.H2("Nothing to show yet"),
        html.P(reason),
        html.P("Run a refresh of the pipeline to publish a snapshot. This page shows it as soon as it "
               "is published: reload the page, there is no need to restart the dashboard."),
    ], className="oba-panel oba-empty", id="scorecard-empty")


def freshness_panel(info: dict[str, Any], source_frame: pl.DataFrame) -> html.Div:
    """When the figures were published and how recent the extracts behind them are."""
    authority = info.get("authority") or {}
    facts = [
        ("Area", str(authority.get("name") or "not recorded")),
        ("Published", format_timestamp(info.get("published_at"))),
        ("Extracts up to", format_day(info.get("extract_date"))),
    ]
    items: list[Any] = []
    for term, detail in facts:
        items += [html.Dt(term), html.Dd(detail)]
    children: list[Any] = [html.H2("About these figures", className="oba-heading-s"),
                           html.Dl(items, className="oba-facts", id="scorecard-freshness")]
    if not source_frame.is_empty():
        children.append(html.Details([
            html.Summary("Sources and the dates they cover"),
            sources_table(source_frame),
        ], className="oba-details"))
    return html.Div(children, className="oba-panel")


def sources_table(source_frame: pl.DataFrame) -> html.Table:
    head = html.Thead(html.Tr([html.Th(text, scope="col") for text in
                               ("Source", "Rows loaded", "Earliest date", "Latest date")]))
    body = html.Tbody([html.Tr([
        html.Th(row["title"] or row["source"], scope="row"),
        html.Td(f"{row['rows_loaded']:,}" if row["rows_loaded"] is not None else "not recorded"),
        html.Td(format_day(row["first_date"])),
        html.Td(format_day(row["last_date"])),
    ]) for row in source_frame.iter_rows(named=True)])
    return html.Table([html.Caption("Source extracts in this snapshot"), head, body], className="oba-table")


def controls(area_frame: pl.DataFrame, kinds: Sequence[str], area_code: str, period_type: str) -> html.Div:
    """The area and period choosers, each with a visible label."""
    area_options = [{"label": f"{row['area_name']} ({row['area_type']})", "value": row["area_code"]}
                    for row in area_frame.iter_rows(named=True)]
    period_options = [{"label": data.PERIOD_TYPE_LABELS.get(kind, kind), "value": kind} for kind in kinds]
    return html.Div([
        html.Div([
            html.Label("Area", htmlFor="scorecard-area", className="oba-label", id="scorecard-area-label"),
            dcc.Dropdown(id="scorecard-area", options=area_options, value=area_code, clearable=False,
                         searchable=False, className="oba-dropdown"),
        ], className="oba-control"),
        html.Fieldset([
            html.Legend("Period", className="oba-label"),
            dcc.RadioItems(id="scorecard-period", options=period_options, value=period_type,
                           className="oba-radios", labelClassName="oba-radio"),
        ], className="oba-control oba-fieldset"),
    ], className="oba-controls")


EVERY = "all"  # the filters' "All ..." choice
FILTERS = (("result", "Result", "All results"), ("service", "Service", "All services"),
           ("quadrant", "Question", "All three questions"))


def filters(catalogue: pl.DataFrame) -> html.Div:
    """Narrow the scorecard to one result (its population indicators), one service (its performance
    measures) or one of the three questions; each chooser has a visible label and starts at "All"."""
    parts = []
    for column, label, everything in FILTERS:
        values = [v for v in catalogue.get_column(column).unique(maintain_order=True).to_list() if v]
        if column == "quadrant":
            options = [{"label": QUADRANTS[q], "value": q} for q in QUADRANTS if q in values]
        else:
            options = [{"label": str(v), "value": str(v)} for v in values]
        parts.append(html.Div([
            html.Label(label, htmlFor=f"scorecard-{column}", className="oba-label", id=f"scorecard-{column}-label"),
            dcc.Dropdown(id=f"scorecard-{column}", options=[{"label": everything, "value": EVERY}, *options],
                         value=EVERY, clearable=False, searchable=False, className="oba-dropdown"),
        ], className="oba-control"))
    return html.Div(parts, className="oba-controls", id="scorecard-filters")


def filter_rows(rows: pl.DataFrame, result: str | None = EVERY, service: str | None = EVERY,
                quadrant: str | None = EVERY) -> pl.DataFrame:
    """The rows the chosen filters keep. A result keeps that result's population indicators; a service or a
    question keeps performance measures only, since population indicators belong to no single service."""
    for column, chosen in (("result", result), ("service", service), ("quadrant", quadrant)):
        if chosen and chosen != EVERY and column in rows.columns:
            rows = rows.filter(pl.col(column) == chosen)
    return rows


def scorecard_body(home: Home, area_code: str | None, period_type: str | None, result: str | None = EVERY,
                   service: str | None = EVERY, quadrant: str | None = EVERY) -> list[Any]:
    """The scorecard tables for one area and period type, narrowed by the result, service and question
    filters."""
    if not area_code or not period_type:
        return [html.P("Choose an area and a period to see the scorecard.")]
    area_frame = data.areas(home).filter(pl.col("area_code") == area_code)
    if area_frame.is_empty():
        # Not an area of this snapshot, or not one of the reader's areas: say nothing about it.
        return [html.P("There are no figures to show for that area.", id="scorecard-status")]
    rows = with_turn_the_curve(data.scorecard_rows(home, area_code, period_type),
                               data.ttc_scorecard(home, area_code, period_type))
    rows = rows.with_columns(pl.lit(area_code).alias("area_code"))  # for each row's link to its measure page
    everything = rows.height
    rows = filter_rows(rows, result, service, quadrant)
    area_name = str(area_frame.get_column("area_name")[0])
    sections = scorecard_sections(rows, area_name, period_type, everything)
    sections.insert(1, downloads.download_buttons("scorecard", f"the scorecard for {area_name}",
                                                  area_code=area_code, period_type=period_type))
    return sections


def scorecard_sections(rows: pl.DataFrame, area_name: str, period_type: str,
                       everything: int | None = None) -> list[Any]:
    """Population indicators under their results, then measures under service and OBA question."""
    period_words = data.PERIOD_TYPE_PHRASES.get(period_type, period_type)
    shown = (f"{rows.height} measures" if everything in (None, rows.height)
             else f"{rows.height} of {everything} measures, as filtered")
    status = html.P(f"Showing {area_name}, {period_words} figures: {shown}.",
                    role="status", className="oba-status", id="scorecard-status")
    if rows.is_empty():
        return [status, html.P("The published catalogue is empty." if not everything else
                               "No measure matches these filters: a result holds population indicators, a "
                               "service and a question hold performance measures. Choose All in one of them.")]
    population = rows.filter(pl.col("oba_kind") == "population_indicator")
    performance = rows.filter(pl.col("oba_kind") != "population_indicator")
    sections: list[Any] = [status]
    if population.height:
        parts: list[Any] = [
            html.H2("Population indicators"),
            html.P("How everyone in the area is doing. No single service is accountable for these: "
                   "the partnership holds them together.", className="oba-hint"),
        ]
        for result, group in _groups(population, "result", "Result not recorded"):
            parts += [html.H3(result), measure_table(group, f"Population indicators: {result}", period_type)]
        sections.append(html.Section(parts, className="oba-section"))
    if performance.height:
        parts = [
            html.H2("Performance measures"),
            html.P("How well each service is working for the people it serves, under the three questions "
                   "of Outcomes-Based Accountability.", className="oba-hint"),
        ]
        for service, group in _groups(performance, "service", "Service not recorded"):
            parts.append(html.H3(service))
            for quadrant, question in [*QUADRANTS.items(), (None, "Question not recorded")]:
                subset = group.filter(pl.col("quadrant").is_null() if quadrant is None
                                      else pl.col("quadrant") == quadrant)
                if subset.height:
                    parts.append(measure_table(subset, f"{service}: {question}", period_type))
        sections.append(html.Section(parts, className="oba-section"))
    return sections


def _groups(frame: pl.DataFrame, column: str, missing: str) -> list[tuple[str, pl.DataFrame]]:
    """Groups in order of their first member's display order, so the catalogue's order is kept."""
    keyed = frame.with_columns(pl.col(column).fill_null(missing).alias("_group"))
    names = keyed.get_column("_group").unique(maintain_order=True).to_list()
    return [(str(name), keyed.filter(pl.col("_group") == name)) for name in names]


def measure_table(rows: pl.DataFrame, caption: str, period_type: str) -> html.Table:
    head = html.Thead(html.Tr([html.Th(text, scope="col") for text in COLUMNS]))
    body = html.Tbody([measure_row(row, period_type) for row in rows.iter_rows(named=True)])
    return html.Table([html.Caption(caption, className="oba-caption"), head, body],
                      className="oba-table oba-scorecard")


def measure_row(row: dict[str, Any], period_type: str) -> html.Tr:
    unit, decimals = str(row["unit"]), int(row["decimals"] or 0)
    kind: list[Any] = [KIND_TEXT.get(row["oba_kind"], str(row["oba_kind"]))]
    if row["quadrant"]:
        kind += [html.Br(), html.Span(QUADRANTS.get(row["quadrant"], row["quadrant"]), className="oba-small")]
    return html.Tr([
        html.Th([html.Button(row["name"], id={"type": "scorecard-open", "index": row["indicator_id"]},
                             n_clicks=0, className="oba-link-button", type="button"),
                 *measure_link(row, period_type)], scope="row"),
        html.Td(kind),
        html.Td(figure_cell(row["latest_value"], row["latest_status"], row["latest_label"], unit, decimals,
                            empty=f"No {data.PERIOD_TYPE_PHRASES.get(period_type, period_type)} figures"),
                className="oba-num"),
        html.Td(figure_cell(row["prior_value"], row["prior_status"], row["prior_label"], unit, decimals,
                            empty="No earlier figure"), className="oba-num"),
        html.Td(trend_cell(row["direction"], row["verdict"], row["run_length"], period_type)),
        html.Td(sparkline_cell(row["recent_values"], row["recent_statuses"])),
        html.Td(row["unit_label"] or unit),
        *ttc_cells(row, unit, decimals),
    ])


def measure_link(row: dict[str, Any], period_type: str) -> list[Any]:
    """A link to the measure's own page (curve, forecast, story), when the row knows its area."""
    if not row.get("area_code"):
        return []
    href = "/measure?" + urlencode({"indicator": row["indicator_id"], "area": row["area_code"],
                                    "period": period_type})
    return [html.Br(), html.A("Curve and story", href=href, className="oba-small oba-row-link",
                              **aria(label=f"Curve and story: {row['name']}"))]


def with_turn_the_curve(rows: pl.DataFrame, ttc: pl.DataFrame) -> pl.DataFrame:
    """The scorecard rows with the turn-the-curve columns beside them (empty where none are published)."""
    return rows.join(ttc, on="indicator_id", how="left")


def ttc_cells(row: dict[str, Any], unit: str, decimals: int) -> list[html.Td]:
    """Target (with variance and % of target), forecast for the next period with its interval, change since
    the baseline's first value, and the turn-the-curve verdict (with the reason when withheld)."""
    target = row.get("target")
    if target is None:
        target_cell: list[Any] = [html.Span("No target set", className="oba-small")]
    else:
        target_cell = [format_value(target, unit, decimals)]
        if row.get("variance_from_target") is not None:
            met = {True: "met", False: "not met"}.get(row.get("target_met"), "")  # type: ignore[arg-type]
            target_cell += [html.Br(), html.Span(
                f"{row['variance_from_target']:+,.{decimals}f} ({row['percent_of_target']:,.0f}% of target)"
                + (f", {met}" if met else ""), className="oba-small")]
    if row.get("next_forecast_value") is None:
        forecast_cell: list[Any] = [html.Span("No forecast", className="oba-small")]
        if row.get("forecast_note"):
            # Say why: the reason reads "no forecast: only 3 of the 12 periods ... are published".
            forecast_cell += [html.Br(), html.Span(str(row["forecast_note"]).removeprefix("no forecast: "),
                                                   className="oba-small")]
    else:
        forecast_cell = [format_value(row["next_forecast_value"], unit, decimals), html.Br(), html.Span(
            f"{row['next_period']}, 95% interval {format_value(row['next_forecast_lower'], unit, decimals)} to "
            f"{format_value(row['next_forecast_upper'], unit, decimals)}", className="oba-small")]
    change = row.get("change_since_baseline_start_pct")
    change_cell: list[Any] = ([html.Span("Not available", className="oba-small")] if change is None else
                              [f"{change:+,.1f}%", html.Br(),
                               html.Span(f"since {row['baseline_start_period']}", className="oba-small")])
    verdict = row.get("ttc_verdict")
    verdict_cell: list[Any] = [TTC_VERDICTS.get(verdict, "Not judged") if verdict else "Not judged"]
    if row.get("cycle_name"):
        verdict_cell += [html.Br(), html.Span(f"against the baseline frozen for {row['cycle_name']}",
                                              className="oba-small")]
    if verdict == "withheld" and row.get("ttc_reason"):
        verdict_cell += [html.Br(), html.Span(str(row["ttc_reason"]), className="oba-small")]
    return [html.Td(target_cell, className="oba-num"), html.Td(forecast_cell, className="oba-num"),
            html.Td(change_cell, className="oba-num"), html.Td(verdict_cell)]


def figure_cell(value: float | None, status: str | None, label: str | None, unit: str, decimals: int,
                empty: str) -> list[Any]:
    """A figure with its period; a missing figure is its symbol and the reason, never a number."""
    if status is None:
        return [html.Span(empty, className="oba-small")]
    period = html.Span(label or "", className="oba-period")
    if status != "ok" or value is None:
        symbol = status if status != "ok" else "x"
        return [html.Strong(symbol, className="oba-symbol"), " ",
                html.Span(status_explanation(symbol), className="oba-small"), html.Br(), period]
    return [html.Span(format_value(value, unit, decimals), className="oba-value"), html.Br(), period]


def trend_text(direction: str | None, verdict: str | None, run_length: int, period_type: str) -> str:
    """The trend in words, e.g. 'Down: better, 3 months in a row'."""
    if direction is None or verdict is None:
        return "Not enough figures to judge"
    single, plural = PERIOD_NOUN.get(period_type, ("period", "periods"))
    run = f"1 {single}" if run_length == 1 else f"{run_length} {plural} in a row"
    return f"{DIRECTION_TEXT[direction]}: {verdict}, {run}"


def trend_cell(direction: str | None, verdict: str | None, run_length: int, period_type: str) -> list[Any]:
    # The arrow is decoration for sighted readers; the words carry the meaning, so colour is never alone.
    words = trend_text(direction, verdict, run_length, period_type)
    if direction is None:
        return [html.Span(words, className="oba-small")]
    modifier = (verdict or "none").replace(" ", "-")
    return [html.Span(ARROWS[direction], className="oba-arrow", **aria(hidden="true")), " ",
            html.Span(words, className=f"oba-trend oba-trend--{modifier}")]


def sparkline_cell(values: Sequence[float | None] | None, statuses: Sequence[str] | None) -> Any:
    values, statuses = list(values or []), list(statuses or [])
    if sum(1 for s in statuses if s == "ok") < 2:
        return html.Span("Too few figures", className="oba-small")
    # Hidden from screen readers: the trend column already says in words what the line shows.
    return html.Div(dcc.Graph(figure=sparkline_figure(values, statuses),
                              config={"staticPlot": True, "displayModeBar": False, "responsive": False},
                              className="oba-sparkline"), **aria(hidden="true"))


def detail_placeholder() -> list[Any]:
    return [html.P("Choose a measure's name in the scorecard below to see its history, its definition "
                   "and the figures behind the chart.", className="oba-hint", id="scorecard-detail-hint")]


def detail_panel(home: Home, indicator_id: str | None, area_code: str | None,
                 period_type: str | None) -> list[Any]:
    """History chart, definition and a table of the chart's figures for one measure in one area."""
    if not indicator_id or not area_code or not period_type:
        return detail_placeholder()
    meta = data.indicator(home, indicator_id)
    if meta is None:
        log.info("measure %r was chosen but is not in the live snapshot's catalogue", indicator_id)
        return [html.P("That measure is not in the published catalogue any more. Choose another.")]
    area_frame = data.areas(home).filter(pl.col("area_code") == area_code)
    if area_frame.is_empty():
        return [html.P("There are no figures to show for that area.")]
    points = data.history(home, indicator_id, area_code, period_type)
    area_name = str(area_frame.get_column("area_name")[0])
    period_words = data.PERIOD_TYPE_PHRASES.get(period_type, period_type)
    heading = html.H2(meta["name"], id="scorecard-detail-heading", tabIndex="-1")
    context = html.P(f"{area_name}, {period_words} figures.", className="oba-lede")
    about = html.Dl(about_items(meta, breakdowns=True), className="oba-facts oba-about", id="scorecard-detail-about")
    if points.is_empty():
        return [heading, context, html.P(f"There are no {period_words} figures for this measure in "
                                         f"{area_name}."), about]
    records = points.to_dicts()
    chart = dcc.Graph(id="scorecard-history-chart", figure=history_figure(records, meta, period_type),
                      config={**downloads.graph_config(f"{meta['name']} {area_name}"), "responsive": True})
    return [
        heading,
        context,
        html.Div([
            html.Div([chart, html.P("The table below the chart lists the same figures.",
                                    className="oba-small")], className="oba-detail__chart"),
            about,
        ], className="oba-detail__grid"),
        history_table(records, meta),
        downloads.download_buttons("history", f"the figures behind the chart of {meta['name']}",
                                   indicator_id=indicator_id, area_code=area_code, period_type=period_type),
    ]


def history_table(records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> html.Table:
    """The chart's figures as a table: the text alternative to the chart."""
    unit, decimals = str(meta["unit"]), int(meta.get("decimals") or 0)
    head = html.Thead(html.Tr([html.Th(text, scope="col") for text in
                               ("Period", "Figure", "Numerator", "Denominator", "Note")]))
    body = []
    for record in records:
        ok = record["status"] == "ok" and record["value"] is not None
        figure = format_value(record["value"], unit, decimals) if ok else str(record["status"])
        body.append(html.Tr([
            html.Th(record["period_label"], scope="row"),
            html.Td(figure, className="oba-num"),
            html.Td(_count(record["numerator"]) if ok else "", className="oba-num"),
            html.Td(_count(record["denominator"]) if ok else "", className="oba-num"),
            html.Td("" if ok else status_explanation(record["status"])),
        ]))
    caption = html.Caption(f"Figures behind the chart: {meta['name']}", id="scorecard-history-table-caption",
                           className="oba-caption")
    return html.Table([caption, head, html.Tbody(body)], className="oba-table", id="scorecard-history-table")


def _count(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def selected_indicator(triggered_id: Any, n_clicks: int | None) -> str | None:
    """The measure whose button was pressed, or None when the trigger was not a real press."""
    if isinstance(triggered_id, dict) and triggered_id.get("type") == "scorecard-open" and n_clicks:
        return str(triggered_id["index"])
    return None


def format_timestamp(value: Any) -> str:
    if not value:
        return "not recorded"
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    zone = f" {moment.tzname()}" if moment.tzinfo else ""
    return f"{moment:%-d %B %Y} at {moment:%H:%M}{zone}"


def format_day(value: Any) -> str:
    if not value:
        return "not recorded"
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day:%-d %B %Y}"


# --- Callbacks (thin wrappers) -----------------------------------------------------------------------

# What the page and its callbacks send, built once per live snapshot, reader's areas and choices.
_kept_page = data.per_snapshot(page_content)
_kept_body = data.per_snapshot(scorecard_body)
_kept_detail = data.per_snapshot(detail_panel)


@callback(Output("scorecard-body", "children"),
          Input("scorecard-area", "value"), Input("scorecard-period", "value"),
          Input("scorecard-result", "value"), Input("scorecard-service", "value"),
          Input("scorecard-quadrant", "value"),
          prevent_initial_call=True)
def _update_scorecard(area_code: str | None, period_type: str | None, result: str | None = EVERY,
                      service: str | None = EVERY, quadrant: str | None = EVERY) -> Any:
    home = current_home()
    body = _kept_body(home, area_code, period_type, result, service, quadrant)
    audit_view(home, area_code, period_type)
    return body


@callback(Output("scorecard-selected", "data"),
          Input({"type": "scorecard-open", "index": ALL}, "n_clicks"),
          prevent_initial_call=True)
def _select_measure(_clicks: list[int | None]) -> Any:
    pressed = ctx.triggered[0]["value"] if ctx.triggered else None
    chosen = selected_indicator(ctx.triggered_id, pressed)
    return chosen if chosen is not None else no_update


@callback(Output("scorecard-detail", "children"), Output("scorecard-focus", "data"),
          Input("scorecard-selected", "data"),
          Input("scorecard-area", "value"), Input("scorecard-period", "value"),
          State("scorecard-focus", "data"),
          prevent_initial_call=True)
def _update_detail(indicator_id: str | None, area_code: str | None, period_type: str | None,
                   focus_count: int | None) -> tuple[Any, Any]:
    panel = _kept_detail(current_home(), indicator_id, area_code, period_type)
    # Move focus to the chart only when a measure was chosen, not when the area or period changed.
    focus = (focus_count or 0) + 1 if ctx.triggered_id == "scorecard-selected" and indicator_id else no_update
    return panel, focus


clientside_callback(
    """
    function(count) {
        var heading = document.getElementById('scorecard-detail-heading');
        if (count && heading) { heading.focus(); heading.scrollIntoView({block: 'start'}); }
        return window.dash_clientside.no_update;
    }
    """,
    Output("scorecard-focus-done", "data"),
    Input("scorecard-focus", "data"),
    prevent_initial_call=True,
)
