"""Whole system page: spend on prevention against late intervention, next to demand and capacity, and the
lags between them, so a commissioner sees how a change in one part of the system moves the others.

Everything comes from the published `indicator_values` (already through disclosure control). The lag
analysis is a cross-correlation of month-on-month changes (dashboards/system_figures.py), stated in
words with the caveat that association is not cause. Builders are plain functions the tests call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.auth import audit
from dashboards.figures import format_value, polarity_text, status_explanation
from dashboards.layout import aria
from dashboards.system_figures import (
    MAX_LAG,
    LagResult,
    cross_correlation,
    lag_figure,
    lag_sentence,
    significance_bound,
    system_figure,
)
from oba_pipeline.config import Home

dash.register_page(__name__, path="/whole-system", name="Whole system", title="Whole system - OBA toolkit",
                   order=20)

DEFAULT_LEADING = "prevention_spend"
DEFAULT_FOLLOWING = "referrals_received"
SPEND = ("prevention_spend", "late_intervention_spend")


def layout(**_query: str) -> html.Div:
    """The page as first served: built from the live snapshot at request time."""
    return page_content(current_home())


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def page_content(home: Home) -> html.Div:
    heading = html.H1("The whole system")
    info = data.snapshot_info(home)
    area_frame = data.areas(home) if info else pl.DataFrame(schema=data.AREA_SCHEMA)
    meta = measures(data.catalogue(home)) if info else {}
    if info is None or area_frame.is_empty() or not meta:
        return html.Div([heading, empty_state(info is None)], className="oba-page")
    area_code = str(area_frame.get_column("area_code")[0])
    options = [{"label": entry["name"], "value": indicator_id} for indicator_id, entry in meta.items()]
    leading = DEFAULT_LEADING if DEFAULT_LEADING in meta else options[0]["value"]
    following = DEFAULT_FOLLOWING if DEFAULT_FOLLOWING in meta else options[-1]["value"]
    area_options = [{"label": f"{row['area_name']} ({row['area_type']})", "value": row["area_code"]}
                    for row in area_frame.iter_rows(named=True)]
    return html.Div([
        heading,
        html.P("Spend on prevention against spend on late intervention, next to demand (referrals, children "
               "in need, children looked after) and capacity (social workers' caseloads), month by month, and "
               "how a change in one tends to be followed by a change in another.", className="oba-lede"),
        html.Div([
            control("Area", "whole-system-area", area_options, area_code),
            control("Change in", "whole-system-leading", options, leading),
            control("Followed by", "whole-system-following", options, following),
        ], className="oba-controls"),
        html.Div(page_body(home, area_code, leading, following), id="whole-system-body"),
        method_note(),
    ], className="oba-page")


def control(label: str, component_id: str, options: list[dict[str, str]], value: str) -> html.Div:
    return html.Div([
        html.Label(label, htmlFor=component_id, className="oba-label", id=f"{component_id}-label"),
        dcc.Dropdown(id=component_id, options=options, value=value, clearable=False, searchable=False,
                     className="oba-dropdown"),
    ], className="oba-control")


def empty_state(nothing_published: bool) -> html.Div:
    reason = ("No figures have been published yet." if nothing_published
              else "The published snapshot holds none of the spend, demand or capacity measures.")
    return html.Div([
        html.H2("Nothing to show yet"),
        html.P(reason),
        html.P("Run a refresh with the referrals, caseloads and spend extracts to publish them; this page shows "
               "them as soon as they are published."),
    ], className="oba-panel oba-empty", id="whole-system-empty")


def measures(catalogue: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The whole-system measures the catalogue holds, in the page's order, by id."""
    by_id = {row["indicator_id"]: row for row in catalogue.iter_rows(named=True)}
    return {indicator_id: by_id[indicator_id] for indicator_id in data.WHOLE_SYSTEM_INDICATORS
            if indicator_id in by_id}


def monthly_series(values: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each measure's months, oldest first."""
    return {str(key[0]): group.sort("period_start").to_dicts()
            for key, group in values.group_by("indicator_id", maintain_order=True)}


def as_mapping(points: Sequence[Mapping[str, Any]]) -> dict[date, float | None]:
    """Month start -> value, with None where the figure is suppressed or missing."""
    return {p["period_start"]: (p["value"] if p["status"] == "ok" else None) for p in points}


def page_body(home: Home, area_code: str | None, leading: str | None, following: str | None) -> list[Any]:
    if not area_code or not leading or not following:
        return [html.P("Choose an area and two measures.", role="status", id="whole-system-status")]
    area_frame = data.areas(home).filter(pl.col("area_code") == area_code)
    if area_frame.is_empty():
        return [html.P("There are no figures to show for that area.", role="status", id="whole-system-status")]
    area_name = str(area_frame.get_column("area_name")[0])
    audit("view", area_code, page="whole_system", leading=leading, following=following)
    meta = measures(data.catalogue(home))
    series = monthly_series(data.whole_system_values(home, area_code, "month"))
    years = data.whole_system_values(home, area_code, "reporting_year", SPEND)
    missing = [meta[i]["name"] for i in meta if i not in series]
    status_text = f"Showing {area_name}, monthly figures: {len(series)} of {len(meta)} measures have figures here."
    if missing:
        status_text += f" No figures for this area: {', '.join(missing)}."
    results = (cross_correlation(as_mapping(series.get(leading, [])), as_mapping(series.get(following, [])))
               if leading in meta and following in meta else [])
    lead_meta, follow_meta = meta.get(leading), meta.get(following)
    parts: list[Any] = [html.P(status_text, role="status", className="oba-status", id="whole-system-status")]
    parts.append(spend_section(years, meta, area_name, area_code))
    parts.append(series_section(series, meta, area_name, area_code))
    if lead_meta is not None and follow_meta is not None:
        parts.append(lag_section(results, lead_meta, follow_meta, area_code))
    return parts


def spend_section(years: pl.DataFrame, meta: Mapping[str, Mapping[str, Any]], area_name: str,
                  area_code: str) -> html.Section:
    """Prevention against late intervention by reporting year, and prevention's share of the two."""
    heading = html.H2("Prevention against late intervention", id="whole-system-spend-heading")
    hint = html.P("Net spend on the Section 251 lines configured as prevention (family support, Sure Start and "
                  "children under 5, services for young people) and as late intervention (children looked after, "
                  "safeguarding), by reporting year (April to March).", className="oba-hint")
    rows = spend_rows(years)
    if not rows:
        body: Any = html.P(f"No spend figures are published for {area_name}: spend is recorded for the whole "
                           "authority, not for its localities.")
    else:
        head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
            "Reporting year", "Prevention (£)", "Late intervention (£)", "Prevention as % of the two")]))
        body = html.Div([html.Table([
            html.Caption(f"Spend on prevention and late intervention, {area_name}", className="oba-caption"),
            head,
            html.Tbody([html.Tr([
                html.Th(row["period_label"], scope="row"),
                html.Td(_figure(row["prevention"], row["prevention_status"], "gbp", 0), className="oba-num"),
                html.Td(_figure(row["late"], row["late_status"], "gbp", 0), className="oba-num"),
                html.Td(f"{row['share']:.1f}%" if row["share"] is not None else "not available",
                        className="oba-num"),
            ]) for row in rows]),
        ], className="oba-table", id="whole-system-spend-table"),
            downloads.download_buttons("whole_system_spend", "spend by reporting year", area_code=area_code)])
    return html.Section([heading, hint, body], className="oba-section",
                        **aria(labelledby="whole-system-spend-heading"))


def spend_rows(years: pl.DataFrame) -> list[dict[str, Any]]:
    """One row per reporting year: prevention, late intervention and prevention's share of the two."""
    by_year: dict[date, dict[str, Any]] = {}
    for row in years.sort("period_start").iter_rows(named=True):
        entry = by_year.setdefault(row["period_start"], {"period_label": row["period_label"], "prevention": None,
                                                         "prevention_status": None, "late": None,
                                                         "late_status": None})
        key = "prevention" if row["indicator_id"] == "prevention_spend" else "late"
        entry[key] = row["value"] if row["status"] == "ok" else None
        entry[f"{key}_status"] = row["status"]
    rows = []
    for entry in by_year.values():
        total = (entry["prevention"] or 0) + (entry["late"] or 0)
        both = entry["prevention"] is not None and entry["late"] is not None and total > 0
        rows.append({**entry, "share": 100 * entry["prevention"] / total if both else None})
    return rows


def series_section(series: Mapping[str, Sequence[Mapping[str, Any]]], meta: Mapping[str, Mapping[str, Any]],
                   area_name: str, area_code: str) -> html.Section:
    heading = html.H2("Spend, demand and capacity over time", id="whole-system-series-heading")
    if not series:
        return html.Section([heading, html.P(f"No whole-system figures are published for {area_name}.")],
                            className="oba-section")
    chart = dcc.Graph(id="whole-system-chart", figure=system_figure(series, meta, area_name),
                      config=downloads.graph_config(f"whole-system-{area_name}"))
    return html.Section([
        heading,
        html.P("One panel per measure, each in its own unit, on the same months. Which way is better: "
               + "; ".join(f"{entry['name']}: {polarity_text(str(entry['polarity']))}"
                           for indicator_id, entry in meta.items() if indicator_id in series) + ".",
               className="oba-hint"),
        chart,
        downloads.download_buttons("whole_system", "spend, demand and capacity by month", area_code=area_code),
        html.Details([html.Summary("The figures behind the chart, as a table"), series_table(series, meta)],
                     className="oba-details"),
    ], className="oba-section", **aria(labelledby="whole-system-series-heading"))


def series_table(series: Mapping[str, Sequence[Mapping[str, Any]]],
                 meta: Mapping[str, Mapping[str, Any]]) -> html.Table:
    """Every month as a row and every measure as a column: the text alternative to the chart."""
    ids = [i for i in meta if i in series]
    by_month: dict[date, dict[str, Any]] = {}
    for indicator_id in ids:
        for point in series[indicator_id]:
            row = by_month.setdefault(point["period_start"], {"label": point["period_label"]})
            row[indicator_id] = point
    head = html.Thead(html.Tr([html.Th("Month", scope="col"),
                               *[html.Th(f"{meta[i]['name']} ({meta[i]['unit_label']})", scope="col")
                                 for i in ids]]))
    body = []
    for _month, row in sorted(by_month.items()):
        cells = []
        for indicator_id in ids:
            found = row.get(indicator_id)
            entry = meta[indicator_id]
            cells.append(html.Td(_figure(found["value"], found["status"], str(entry["unit"]),
                                         int(entry["decimals"] or 0)) if found else "", className="oba-num"))
        body.append(html.Tr([html.Th(row["label"], scope="row"), *cells]))
    return html.Table([html.Caption("Spend, demand and capacity by month", className="oba-caption"), head,
                       html.Tbody(body)], className="oba-table", id="whole-system-series-table")


def lag_section(results: Sequence[LagResult], leading: Mapping[str, Any], following: Mapping[str, Any],
                area_code: str) -> html.Section:
    heading = html.H2("How a change in one is followed by a change in another", id="whole-system-lag-heading")
    sentence = lag_sentence(results, str(leading["name"]).lower(), str(following["name"]).lower())
    if str(leading["indicator_id"]) == str(following["indicator_id"]):
        sentence = ("Choose two different measures: a measure compared with itself always moves with itself at a "
                    "lag of 0 months. " + sentence)
    chart = dcc.Graph(id="whole-system-lag-chart", figure=lag_figure(results, leading, following),
                      config=downloads.graph_config(f"lags-{leading['indicator_id']}-{following['indicator_id']}"))
    return html.Section([
        heading,
        html.P(sentence, className="oba-panel", id="whole-system-lag-sentence"),
        chart,
        downloads.download_buttons("whole_system_lags", "correlation by lag", area_code=area_code,
                                   leading=str(leading["indicator_id"]), following=str(following["indicator_id"])),
        html.Details([html.Summary("The correlations behind the chart, as a table"), lag_table(results)],
                     className="oba-details"),
    ], className="oba-section", **aria(labelledby="whole-system-lag-heading"))


def lag_table(results: Sequence[LagResult]) -> html.Table:
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
        "Lag (months)", "Correlation of changes", "Pairs of months", "Band chance alone gives (95%)")]))
    body = []
    for result in results:
        bound = significance_bound(result.pairs)
        body.append(html.Tr([
            html.Th(str(result.lag), scope="row"),
            html.Td(f"{result.correlation:+.2f}" if result.correlation is not None else "not available",
                    className="oba-num"),
            html.Td(str(result.pairs), className="oba-num"),
            html.Td(f"±{bound:.2f}" if bound is not None else "", className="oba-num"),
        ]))
    return html.Table([html.Caption(f"Correlation of month-on-month changes at lags 0 to {MAX_LAG} months",
                                    className="oba-caption"), head, html.Tbody(body)],
                      className="oba-table", id="whole-system-lag-table")


def _figure(value: float | None, status: str | None, unit: str, decimals: int) -> str:
    if status is None:
        return "no figure"
    if status != "ok" or value is None:
        return f"{status} ({status_explanation(status)})"
    return format_value(value, unit, decimals)


def method_note() -> html.Details:
    return html.Details([
        html.Summary("How the lags are worked out"),
        html.P("Each measure's change from one month to the next is compared with the other measure's change "
               "0 to 12 months later, by Pearson's correlation (−1 to +1). Changes are compared rather than "
               "levels, because two measures that both drift up over the years look related whatever the "
               "truth. Months with a missing or suppressed figure are left out. The lag named is the one with "
               "the largest correlation in size among lags resting on at least 12 pairs of months. With 13 lags "
               "to choose from, one will often stand out by chance; seasonal patterns common to both measures "
               "also show up as association. Use it to ask better questions of the story behind the curve, not "
               "as proof that one thing causes another."),
    ], className="oba-details", id="whole-system-method")


# --- Downloads: the figures behind this page's tables and charts ----------------------------------


@downloads.table("whole_system")
def _download_series(home: Home, area_code: str) -> pl.DataFrame:
    return data.whole_system_values(home, area_code, "month")


@downloads.table("whole_system_spend")
def _download_spend(home: Home, area_code: str) -> pl.DataFrame:
    return pl.DataFrame(spend_rows(data.whole_system_values(home, area_code, "reporting_year", SPEND)),
                        schema={"period_label": pl.String, "prevention": pl.Float64, "prevention_status": pl.String,
                                "late": pl.Float64, "late_status": pl.String, "share": pl.Float64}).rename(
        {"period_label": "reporting_year", "prevention": "prevention_spend_gbp", "late": "late_intervention_spend_gbp",
         "share": "prevention_percent_of_both"})


@downloads.table("whole_system_lags")
def _download_lags(home: Home, area_code: str, leading: str, following: str) -> pl.DataFrame:
    series = monthly_series(data.whole_system_values(home, area_code, "month", (leading, following)))
    results = cross_correlation(as_mapping(series.get(leading, [])), as_mapping(series.get(following, [])))
    return pl.DataFrame([{"leading": leading, "following": following, "lag_months": r.lag,
                          "correlation": r.correlation, "pairs": r.pairs,
                          "chance_band_95": significance_bound(r.pairs)} for r in results],
                        schema={"leading": pl.String, "following": pl.String, "lag_months": pl.Int64,
                                "correlation": pl.Float64, "pairs": pl.Int64, "chance_band_95": pl.Float64})


# --- Callbacks (thin wrappers) -----------------------------------------------------------------------


@callback(Output("whole-system-body", "children"),
          Input("whole-system-area", "value"), Input("whole-system-leading", "value"),
          Input("whole-system-following", "value"), prevent_initial_call=True)
def _update_body(area_code: str | None, leading: str | None, following: str | None) -> list[Any]:
    return page_body(current_home(), area_code, leading, following)
