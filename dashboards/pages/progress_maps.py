"""Progress maps page: how the authority compares on the published national statistics.

A measure's trend for the home authority against its statistical neighbours, region and England; its
neighbours ranked with the authority highlighted; two measures across every authority with a line of
best fit; and England's authorities as tiles by quartile band. The home authority is configuration
(`OBA_HOME_LA`), shown on the page with how it was set. The neighbour model and the benchmark maths
(mean and median) are named on screen.
"""

from __future__ import annotations

from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.figures import format_value, polarity_text
from dashboards.layout import aria
from dashboards.progress_figures import (
    QUARTILE_TEXT,
    line_of_best_fit,
    ranked_bar_figure,
    scatter_figure,
    tile_grid_figure,
    trend_figure,
)
from oba_pipeline.config import Home

dash.register_page(__name__, path="/progress-maps", name="Progress maps", title="Progress maps - OBA toolkit",
                   order=10)

SET_BY_TEXT = {"OBA_HOME_LA": "set by OBA_HOME_LA", "local extracts": "the authority in the local extracts"}


def layout(**_query: str) -> Any:
    """The page as first served: built from the live snapshot once per snapshot and reader's areas."""
    return _kept_page(current_home())


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def page_content(home: Home) -> html.Div:
    measures = data.benchmark_measures(home)
    authorities = data.benchmark_authorities(home)
    if measures.is_empty() or authorities.is_empty():
        return html.Div([html.H1("Progress maps"), empty_state()], className="oba-page")
    settings = data.benchmark_home(home) or {}
    known = set(authorities.get_column("area_code").to_list())
    area_code = str(settings["authority_code"]) if settings.get("authority_code") in known \
        else str(authorities.get_column("area_code")[0])
    measure_id = str(measures.get_column("measure_id")[0])
    others = [m for m in measures.get_column("measure_id").to_list() if m != measure_id]
    x_measure = others[0] if others else measure_id
    measure_options = [{"label": row["name"], "value": row["measure_id"]} for row in measures.iter_rows(named=True)]
    authority_options = [{"label": f"{row['area_name']} ({row['area_code']})", "value": row["area_code"]}
                         for row in authorities.iter_rows(named=True)]
    return html.Div([
        html.H1("Progress maps"),
        html.P("How an authority compares with England, its region and its ten statistical neighbours on the "
               "statistics the Department for Education publishes for every local authority.",
               className="oba-lede"),
        home_panel(settings),
        html.Div([
            control("Measure", "progress-measure", measure_options, measure_id),
            control("Authority", "progress-authority", authority_options, area_code, searchable=True),
            control("Compare with (scatter)", "progress-x-measure", measure_options, x_measure),
        ], className="oba-controls"),
        html.Div(id="progress-summary", className="oba-panel", role="status", **aria(live="polite")),
        html.Section([dcc.Graph(id="progress-trend", config=downloads.graph_config("progress-maps-trend"))],
                     **aria(label="Trend against comparators")),
        html.Section([dcc.Graph(id="progress-ranked", config=downloads.graph_config("progress-maps-neighbours-ranked")),
                      html.Details([html.Summary("The neighbours' figures as a table"),
                                    html.Div(id="progress-ranked-table")], className="oba-details")],
                     **aria(label="Statistical neighbours ranked")),
        html.Section([dcc.Graph(id="progress-scatter", config=downloads.graph_config("progress-maps-two-measures")),
                      html.P(id="progress-scatter-note")], **aria(label="Two measures across authorities")),
        html.Section([dcc.Graph(id="progress-tiles", config=downloads.graph_config("progress-maps-quartile-tiles"))],
                     **aria(label="Quartile bands across England")),
        html.Div(id="progress-downloads"),
        html.Details([html.Summary("Published files and data-quality findings"),
                      sources_table(data.benchmark_sources(home)),
                      html.Div(id="progress-findings")], className="oba-details"),
    ], className="oba-page")


def control(label: str, component_id: str, options: list[dict[str, str]], value: str,
            searchable: bool = False) -> html.Div:
    """A labelled chooser; the long list of authorities can be searched by typing."""
    return html.Div([
        html.Label(label, htmlFor=component_id, className="oba-label", id=f"{component_id}-label"),
        dcc.Dropdown(id=component_id, options=options, value=value, clearable=False, searchable=searchable,
                     className="oba-dropdown"),
    ], className="oba-control")


def empty_state() -> html.Div:
    return html.Div([
        html.H2("No published statistics loaded"),
        html.P("Put the files downloaded from Explore Education Statistics (children in need, looked after, "
               "workforce, Section 251 spend, ONS population and the statistical neighbours) in the folder "
               "published/ inside the input folder and run a refresh. The files are recognised by their "
               "columns, whatever they are called."),
    ], className="oba-panel oba-empty", id="progress-empty")


def home_panel(settings: dict[str, Any]) -> html.Div:
    """Which authority is home, how that was set, and which neighbour model the comparisons use."""
    if settings.get("authority_code"):
        who = f"{settings.get('authority_name') or 'Authority'} ({settings['authority_code']}), " \
              f"{SET_BY_TEXT.get(str(settings.get('set_by')), str(settings.get('set_by')))}"
    else:
        who = "not set: set OBA_HOME_LA to the authority's 3-digit code (for example 206 for Islington)"
    facts = [("Home authority", who),
             ("Statistical neighbours", str(settings.get("neighbour_models") or "no neighbour file loaded")),
             ("Benchmark", "the neighbours' median and mean of the published figures; rank 1 is the best "
                           "by the measure's polarity, quartile 1 the best quarter")]
    local = settings.get("local_area_name")
    if local and settings.get("local_area_code") != settings.get("authority_code"):
        facts.append(("Local extracts", f"{local} ({settings.get('local_area_code')}): its own figures are drawn "
                                        "beside the published ones where a local indicator is linked"))
    items: list[Any] = []
    for term, detail in facts:
        items += [html.Dt(term), html.Dd(detail)]
    return html.Div([html.H2("About these comparisons", className="oba-heading-s"),
                     html.Dl(items, className="oba-facts", id="progress-home")], className="oba-panel")


def summary(row: dict[str, Any] | None, meta: dict[str, Any], authority: str) -> list[Any]:
    if row is None:
        return [html.P(f"{authority} has no published figure for {meta['name']}.")]
    unit, decimals = str(meta["unit"]), int(meta["decimals"])

    def shown(value: Any) -> str:
        return format_value(value, unit, decimals) if value is not None else "no figure"

    value = shown(row["value"]) if row["status"] == "ok" else f"{row['status']} (no figure)"
    parts: list[Any] = [html.Strong(f"{authority}, {row['period_label']}: {value}."),
             f" England {shown(row['england_value'])}; {row['region_name'] or 'region'} "
             f"{shown(row['region_value'])}; neighbours' median {shown(row['neighbours_median'])} "
             f"and mean {shown(row['neighbours_mean'])} ({row['neighbours_with_figures']} of 10 with figures, "
             f"{row['neighbour_model_name'] or 'no neighbour model'})."]
    if row["rank"] is not None:
        parts.append(f" Rank {row['rank']} of {row['ranked_authorities']} authorities, "
                     f"{QUARTILE_TEXT.get(row['quartile'], '')}; {polarity_text(str(meta['polarity']))}.")
    return [html.P(parts, id="progress-summary-text")]


def ranked_table(rows: list[dict[str, Any]], meta: dict[str, Any], home_code: str) -> html.Table:
    unit, decimals = str(meta["unit"]), int(meta["decimals"])
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in ("Authority", "Figure", "Rank in England")]))
    body = html.Tbody([html.Tr([
        html.Th(f"{r['area_name']}{' (home)' if r['area_code'] == home_code else ''}", scope="row"),
        html.Td(format_value(r["value"], unit, decimals) if r["status"] == "ok" else r["status"]),
        html.Td(str(r["rank"]) if r["rank"] is not None else "not ranked"),
    ]) for r in sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0))])
    return html.Table([html.Caption(f"{meta['name']}: the authority and its neighbours"), head, body],
                      className="oba-table", id="progress-ranked-figures")


def sources_table(sources: pl.DataFrame) -> html.Table:
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in ("File", "Recognised as", "Years", "Loaded")]))
    body = html.Tbody([html.Tr([
        html.Th(r["file"], scope="row"),
        html.Td(r["format_title"] or "not recognised"),
        html.Td(f"{r['first_year']} to {r['last_year']}" if r["first_year"] is not None else ""),
        html.Td("yes" if r["status"] == "loaded" else f"no: {r['message']}"),
    ]) for r in sources.iter_rows(named=True)])
    return html.Table([html.Caption("Published files in this snapshot"), head, body], className="oba-table",
                      id="progress-sources")


def findings_list(findings: pl.DataFrame, measure_name: str) -> html.Div:
    if findings.is_empty():
        return html.P(f"No data-quality findings for {measure_name}: every published figure that could be "
                      "re-derived from its counts agreed to the published precision.")
    return html.Div([html.H3(f"Findings for {measure_name} and the files", className="oba-heading-s"),
                     html.Ul([html.Li(f"{r['severity'].capitalize()}: {r['message']}")
                              for r in findings.iter_rows(named=True)])])


def scatter_points(x_rows: pl.DataFrame, y_rows: pl.DataFrame) -> list[dict[str, Any]]:
    x = x_rows.filter(pl.col("status") == "ok").select("area_code", "area_name", x=pl.col("value"))
    y = y_rows.filter(pl.col("status") == "ok").select("area_code", y=pl.col("value"))
    return x.join(y, on="area_code", how="inner").sort("area_name").to_dicts()


@callback(
    Output("progress-summary", "children"),
    Output("progress-trend", "figure"),
    Output("progress-ranked", "figure"),
    Output("progress-ranked-table", "children"),
    Output("progress-scatter", "figure"),
    Output("progress-scatter-note", "children"),
    Output("progress-tiles", "figure"),
    Output("progress-findings", "children"),
    Input("progress-measure", "value"),
    Input("progress-authority", "value"),
    Input("progress-x-measure", "value"),
)
def update(measure_id: str, area_code: str, x_measure_id: str) -> Any:
    return _kept_outputs(current_home(), measure_id, area_code, x_measure_id)


def page_outputs(home: Home, measure_id: str, area_code: str, x_measure_id: str) -> tuple[Any, ...]:
    """Every output of the page's main callback: the views and the measure's data-quality findings."""
    views = build_views(home, measure_id, area_code, x_measure_id)
    name = next((r["name"] for r in data.benchmark_measures(home).iter_rows(named=True)
                 if r["measure_id"] == measure_id), measure_id)
    return (*views, findings_list(data.benchmark_findings(home, measure_id), str(name)))


def build_views(home: Home, measure_id: str, area_code: str, x_measure_id: str) -> tuple[Any, ...]:
    """Everything on the page for one measure and authority (and the scatter's second measure)."""
    measures = {row["measure_id"]: row for row in data.benchmark_measures(home).iter_rows(named=True)}
    meta = measures[measure_id]
    series = data.benchmark_series(home, measure_id, area_code)
    authority = next((str(name) for name in series.get_column("area_name") if name), area_code)
    settings = data.benchmark_home(home) or {}
    local: list[dict[str, Any]] = []
    if meta.get("local_indicator_id") and settings.get("local_area_code"):
        local = data.history(home, str(meta["local_indicator_id"]), str(settings["local_area_code"]),
                             "reporting_year").to_dicts()
    trend = trend_figure(series.to_dicts(), meta, authority, local, settings.get("local_area_name"))
    shown = series.filter(pl.col("status") == "ok")
    latest = (shown if shown.height else series).tail(1)
    if latest.is_empty():
        empty = trend_figure([], meta, authority)
        return (summary(None, meta, authority), trend, empty, None, empty, "", empty)
    row: dict[str, Any] = latest.row(0, named=True)
    year = int(row["year"])
    neighbours = data.benchmark_neighbour_values(home, measure_id, area_code, year)
    ranked_rows = [row, *neighbours.to_dicts()]
    everyone = data.benchmark_year(home, measure_id, year)
    x_meta = measures.get(x_measure_id, meta)
    points = scatter_points(data.benchmark_year(home, x_meta["measure_id"], year), everyone)
    fit = line_of_best_fit([p["x"] for p in points], [p["y"] for p in points])
    note = (f"{len(points)} authorities with both figures in {row['period_label']}. "
            + (f"Least-squares line: each 1 more on {x_meta['name']} goes with {fit[1]:+.2f} on {meta['name']} "
               f"(R² {fit[2]:.2f}); a line of best fit shows association, not cause." if fit else
               "Too few authorities with both figures for a line of best fit."))
    return (
        summary(row, meta, authority),
        trend,
        ranked_bar_figure(ranked_rows, meta, area_code, str(row["period_label"])),
        ranked_table(ranked_rows, meta, area_code),
        scatter_figure(points, x_meta, meta, area_code, str(row["period_label"])),
        note,
        tile_grid_figure(everyone.to_dicts(), meta, area_code, str(row["period_label"])),
    )


@callback(Output("progress-downloads", "children"),
          Input("progress-measure", "value"), Input("progress-authority", "value"))
def _downloads(measure_id: str, area_code: str) -> Any:
    return _kept_downloads(current_home(), measure_id, area_code)


def download_section(home: Home, measure_id: str | None, area_code: str | None) -> list[Any]:
    """The figures behind the charts as tables (their text alternative) and as downloads: the authority's
    years against its comparators, its neighbours, and every authority."""
    if not measure_id or not area_code:
        return []
    meta = next((row for row in data.benchmark_measures(home).iter_rows(named=True)
                 if row["measure_id"] == measure_id), None)
    series = data.benchmark_series(home, measure_id, area_code)
    tables: list[Any] = []
    if meta is not None and series.height:
        tables.append(html.Details([html.Summary("The trend chart's figures as a table"),
                                    trend_table(series.to_dicts(), meta)], className="oba-details"))
    shown = series.filter(pl.col("status") == "ok")
    latest = (shown if shown.height else series).tail(1)
    parts: list[Any] = [html.H2("Download the figures", className="oba-heading-s"),
                        html.P("The authority's figures every year, with England, region and neighbours:"),
                        downloads.download_buttons("benchmark_series", "the trend's figures, every year",
                                                   measure_id=measure_id, area_code=area_code)]
    if latest.height:
        year = int(latest.get_column("year")[0])
        label = str(latest.get_column("period_label")[0])
        parts += [html.P(f"The authority and its statistical neighbours, {label}:"),
                  downloads.download_buttons("benchmark_neighbours", f"the neighbours' figures, {label}",
                                             measure_id=measure_id, area_code=area_code, year=year),
                  html.P(f"Every authority, {label} (the scatter and the tiles):"),
                  downloads.download_buttons("benchmark_year", f"every council's figure, {label}",
                                             measure_id=measure_id, year=year)]
        if meta is not None:
            tables.append(html.Details([html.Summary(f"Every authority's figure in {label} (the scatter and the "
                                                     "tiles) as a table"),
                                        authorities_table(data.benchmark_year(home, measure_id, year).to_dicts(),
                                                          meta, area_code, label)], className="oba-details"))
    return [*tables, html.Div(parts, className="oba-panel")]


def trend_table(rows: list[dict[str, Any]], meta: dict[str, Any]) -> html.Table:
    """The trend chart's lines, year by year."""
    unit, decimals = str(meta["unit"]), int(meta["decimals"])

    def shown(value: Any) -> str:
        return format_value(value, unit, decimals) if value is not None else "no figure"

    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
        "Year", "Authority", "England", "Region", "Neighbours' median", "Neighbours' mean")]))
    body = html.Tbody([html.Tr([
        html.Th(r["period_label"], scope="row"),
        html.Td(shown(r["value"]) if r["status"] == "ok" else f"{r['status']} (no figure)", className="oba-num"),
        html.Td(shown(r["england_value"]), className="oba-num"), html.Td(shown(r["region_value"]), className="oba-num"),
        html.Td(shown(r["neighbours_median"]), className="oba-num"),
        html.Td(shown(r["neighbours_mean"]), className="oba-num"),
    ]) for r in rows])
    return html.Table([html.Caption(f"{meta['name']} ({meta['unit_label']}), by year"), head, body],
                      className="oba-table", id="progress-trend-table")


def authorities_table(rows: list[dict[str, Any]], meta: dict[str, Any], home_code: str, label: str) -> html.Table:
    unit, decimals = str(meta["unit"]), int(meta["decimals"])
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in ("Authority", "Region", "Figure", "Rank",
                                                                 "Quartile (1 best)")]))
    body = html.Tbody([html.Tr([
        html.Th(f"{r['area_name']}{' (home)' if r['area_code'] == home_code else ''}", scope="row"),
        html.Td(r["region_name"] or ""),
        html.Td(format_value(r["value"], unit, decimals) if r["status"] == "ok" else r["status"], className="oba-num"),
        html.Td(str(r["rank"]) if r["rank"] is not None else "not ranked", className="oba-num"),
        html.Td(str(r["quartile"]) if r["quartile"] is not None else "", className="oba-num"),
    ]) for r in sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["area_name"]))])
    return html.Table([html.Caption(f"{meta['name']}: every authority, {label}"), head, body], className="oba-table",
                      id="progress-authorities-table")


# What the page and its callbacks send, built once per live snapshot, reader's areas and choices.
_kept_page = data.per_snapshot(page_content)
_kept_outputs = data.per_snapshot(page_outputs)
_kept_downloads = data.per_snapshot(download_section)
