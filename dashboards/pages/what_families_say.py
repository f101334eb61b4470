"""What families say: family-reported outcomes next to the service measures that claim the same theme.

The family's side comes first on every theme; themes where families and services move opposite ways
come first on the page. Rater gaps (families against professionals) are shown as their own measure.
Callbacks are thin wrappers: the builders below take plain arguments and are unit-tested directly.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, callback, dcc, html

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.figures import format_value, status_explanation
from dashboards.layout import aria
from oba_pipeline.config import Home
from oba_pipeline.family_voice import direction as rules

dash.register_page(__name__, path="/what-families-say", name="What families say",
                   title="What families say - OBA toolkit", order=1)

MOVEMENT_TEXT = {
    "improving": "Improving against its own baseline",
    "worsening": "Worsening against its own baseline",
    "steady": "No clear change from its own baseline",
    "no polarity": "Changed, but neither higher nor lower is better",
    "not known": "Not enough published figures to judge",
}
AGREEMENT_CLASS = {
    "families worse while services improve": "diverge",
    "families better while services worsen": "diverge",
    "both improving": "agree-better",
    "both worsening": "agree-worse",
}
ROLE_TEXT = {"parent": "Parents", "carer": "Carers", "child": "Children and young people", "worker": "workers",
             "teacher": "teachers"}
INSTRUMENT_TEXT = {"signs_of_safety": "Safety scale (0-10)", "sdq": "SDQ total difficulties",
                   "family_star_plus": "Family Star Plus", "goal_based_outcomes": "Goal-Based Outcomes",
                   "swemwbs": "SWEMWBS", "my_star": "My Star", "family_life": "Family life satisfaction"}


def layout(**_query: str) -> Any:
    """The page as first served: built from the live snapshot once per snapshot and reader's areas."""
    return _kept_page(current_home())


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def page_content(home: Home) -> html.Div:
    """The whole page, or a plain explanation when no family-reported outcomes are published."""
    info = data.snapshot_info(home)
    area_frame = data.areas(home) if info else pl.DataFrame(schema=data.AREA_SCHEMA)
    themes = data.family_themes(home) if info else pl.DataFrame(schema=data.FAMILY_THEME_SCHEMA)
    heading = html.H1("What families say")
    if info is None or area_frame.is_empty() or themes.is_empty():
        return html.Div([heading, empty_state(info is None)], className="oba-page")
    area_code = str(area_frame.get_column("area_code")[0])
    years = years_of(data.family_vs_service(home, area_code))
    return html.Div([
        heading,
        html.P("What families tell us about their own lives, next to what services count, theme by theme. "
               "Families' own ratings come first; where the two move in opposite directions, that comes "
               "first of all.", className="oba-lede"),
        controls(area_frame, years),
        html.Div(page_body(home, area_code, years[0]["value"] if years else None), id="what-families-body"),
        method_note(),
    ], className="oba-page")


def empty_state(nothing_published: bool) -> html.Div:
    reason = ("No figures have been published yet." if nothing_published
              else "The published snapshot holds no family-reported outcomes or themes.")
    return html.Div([
        html.H2("Nothing to show yet"),
        html.P(reason),
        html.P("Run a refresh of the pipeline with a family outcomes extract to publish them; this page "
               "shows them as soon as they are published."),
    ], className="oba-panel oba-empty", id="what-families-empty")


def years_of(frame: pl.DataFrame) -> list[dict[str, str]]:
    """Reporting years with figures, latest first, as dropdown options."""
    years = frame.select("period_start", "period_label").unique().sort("period_start", descending=True)
    return [{"label": row["period_label"], "value": row["period_start"].isoformat()}
            for row in years.iter_rows(named=True)]


def controls(area_frame: pl.DataFrame, years: list[dict[str, str]]) -> html.Div:
    area_options = [{"label": f"{row['area_name']} ({row['area_type']})", "value": row["area_code"]}
                    for row in area_frame.iter_rows(named=True)]
    return html.Div([
        html.Div([
            html.Label("Area", htmlFor="what-families-area", className="oba-label"),
            dcc.Dropdown(id="what-families-area", options=area_options, value=area_options[0]["value"],
                         clearable=False, searchable=False, className="oba-dropdown"),
        ], className="oba-control"),
        html.Div([
            html.Label("Reporting year", htmlFor="what-families-year", className="oba-label"),
            dcc.Dropdown(id="what-families-year", options=years, value=years[0]["value"] if years else None,
                         clearable=False, searchable=False, className="oba-dropdown"),
        ], className="oba-control"),
    ], className="oba-controls")


def page_body(home: Home, area_code: str | None, year: str | None) -> list[Any]:
    """Disagreements across every area for the year, then every theme for the chosen area, then rater gaps."""
    if not area_code or not year:
        return [html.P("Choose an area and a reporting year.", role="status", id="what-families-status")]
    start = date.fromisoformat(year)
    rows = data.family_vs_service(home, area_code).filter(pl.col("period_start") == start)
    themes = data.family_themes(home)
    units = _units(data.catalogue(home))
    area_frame = data.areas(home).filter(pl.col("area_code") == area_code)
    area_name = str(area_frame.get_column("area_name")[0]) if area_frame.height else area_code
    label = rows.get_column("period_label")[0] if rows.height else year
    matters = data.what_matters(home, area_code).filter(pl.col("period_start") == start)
    divergent = data.family_divergent(home, start)
    n_divergent = rows.filter(pl.col("divergent")).select("theme").n_unique()
    status = html.P(f"Showing {area_name}, {label}: {themes.height} themes, {n_divergent} where families "
                    "and services move in opposite directions.", role="status", className="oba-status",
                    id="what-families-status")
    return [
        status,
        divergence_section(divergent, label, units),
        downloads.download_buttons("family_divergent", f"where families and services disagree, {label}", year=year),
        themes_section(rows, themes, matters, area_name, units),
        downloads.download_buttons("family_vs_service", f"theme by theme, {area_name}, {label}",
                                   area_code=area_code, year=year),
        gaps_section(data.family_rater_gaps(home, area_code, start), area_name, label),
        downloads.download_buttons("family_rater_gaps", f"gaps between raters, {area_name}, {label}",
                                   area_code=area_code, year=year),
    ]


def _units(catalogue: pl.DataFrame) -> dict[str, tuple[str, int]]:
    return {row["indicator_id"]: (str(row["unit"]), int(row["decimals"] or 0))
            for row in catalogue.iter_rows(named=True)}


def divergence_section(divergent: pl.DataFrame, label: str, units: dict[str, tuple[str, int]]) -> html.Section:
    """Every area and theme where families and services moved opposite ways in the year."""
    parts: list[Any] = [
        html.H2("Where families and services disagree", id="what-families-divergent-heading"),
        html.P(f"Every area, in {label} and the two reporting years before it, newest first.", className="oba-hint"),
    ]
    if divergent.is_empty():
        parts.append(html.P(f"In {label} and the two years before it, no area has a theme where families' own "
                            "ratings and a service measure moved in opposite directions against their baselines."))
    else:
        items = []
        for row in divergent.iter_rows(named=True):
            unit, decimals = units.get(row["service_measure"], ("", 1))
            items.append(html.Li([
                html.Strong(f"{row['period_label']}, {row['area_name']}: {row['theme_name']}. "),
                f"Families: {_family_phrase(row)}. ",
                f"Services: {row['service_measure_name']} "
                f"{_figure(row['service_value'], row['service_status'], unit, decimals)} "
                f"({row['service_direction']}). ",
                html.Span(row["agreement"].capitalize() + ".", className="oba-tag oba-tag--diverge"),
            ]))
        parts.append(html.Ul(items, className="oba-list", id="what-families-divergent"))
    return html.Section(parts, className="oba-section", **aria(labelledby="what-families-divergent-heading"))


def _family_phrase(row: dict[str, Any]) -> str:
    value = _figure(row["family_value"], row["family_status"], "percent", 1)
    return f"{value} of families reported reliable improvement ({row['family_direction']})"


def _figure(value: float | None, status: str | None, unit: str, decimals: int) -> str:
    if status is None:
        return "no figure"
    if status != "ok" or value is None:
        return f"{status} ({status_explanation(status)})"
    return format_value(value, unit, decimals)


def ordered_themes(rows: pl.DataFrame, themes: pl.DataFrame) -> list[str]:
    """Theme codes with any divergent row first, then the rest, each group in the themes' own order."""
    divergent = set(rows.filter(pl.col("divergent")).get_column("theme").to_list())
    codes = themes.sort("display_order").get_column("theme").to_list()
    return [c for c in codes if c in divergent] + [c for c in codes if c not in divergent]


def themes_section(rows: pl.DataFrame, themes: pl.DataFrame, matters: pl.DataFrame, area_name: str,
                   units: dict[str, tuple[str, int]]) -> html.Section:
    by_code = {row["theme"]: row for row in themes.iter_rows(named=True)}
    named = {row["indicator_id"]: row for row in matters.iter_rows(named=True)}
    cards = [theme_card(by_code[code], rows.filter(pl.col("theme") == code),
                        named.get(by_code[code]["what_matters_measure"]), units)
             for code in ordered_themes(rows, themes)]
    return html.Section([
        html.H2(f"Theme by theme: {area_name}", id="what-families-themes-heading"),
        html.P("For each theme, the share of families whose own ratings improved reliably, and the service "
               "measures that claim to serve the theme. Each side is judged against its own baseline.",
               className="oba-hint"),
        *cards,
    ], className="oba-section", **aria(labelledby="what-families-themes-heading"))


def theme_card(theme: dict[str, Any], rows: pl.DataFrame, matters: dict[str, Any] | None,
               units: dict[str, tuple[str, int]]) -> html.Article:
    code = theme["theme"]
    heading_id = f"what-families-theme-{code}"
    first = rows.row(0, named=True) if rows.height else None
    labels = [r for r in rows.get_column("agreement").to_list() if r] if rows.height else []
    tags = [html.Span(text.capitalize(), className=f"oba-tag oba-tag--{AGREEMENT_CLASS.get(text, 'plain')}")
            for text in dict.fromkeys(labels)]
    return html.Article([
        html.H3([theme["theme_name"], " ", *tags], id=heading_id),
        html.P(theme["description"], className="oba-hint"),
        html.Div([
            family_side(first, matters),
            service_side(rows, theme, units),
        ], className="oba-voice"),
    ], className="oba-theme", id=f"what-families-card-{code}", **aria(labelledby=heading_id))


def family_side(row: dict[str, Any] | None, matters: dict[str, Any] | None) -> html.Div:
    """The family's own ratings: the first thing on every theme."""
    parts: list[Any] = [html.H4("What families say", className="oba-heading-s")]
    if row is None:
        parts.append(html.P("No family-reported figures for this theme in this year."))
        return html.Div(parts, className="oba-voice__family")
    parts += [
        html.P([html.Span(_figure(row["family_value"], row["family_status"], "percent", 1),
                          className="oba-value oba-value--large"), " ",
                html.Span("of families with a follow-up reported reliable improvement", className="oba-small")]),
        html.P(MOVEMENT_TEXT.get(row["family_direction"] or "not known", row["family_direction"] or "")
               + (f" ({row['family_baseline']:.1f}%)." if row["family_baseline"] is not None else "."),
               className=f"oba-trend oba-trend--{row['family_direction'] or 'none'}".replace(" ", "-")),
    ]
    facts = []
    if row["family_denominator"] is not None:
        facts.append(f"{row['family_denominator']:,.0f} families had a follow-up reading on this theme.")
    completion = _figure(row["follow_up_completion"], row["follow_up_completion_status"], "percent", 1)
    facts.append(f"First reviews completed on time, all tools: {completion}. Families who missed a review "
                 "are not counted as unchanged.")
    if matters is not None:
        facts.append(f"Named as what matters most by {_figure(matters['value'], matters['status'], 'percent', 1)} "
                     "of families asked.")
    parts.append(html.Ul([html.Li(text) for text in facts], className="oba-list oba-small"))
    return html.Div(parts, className="oba-voice__family")


def service_side(rows: pl.DataFrame, theme: dict[str, Any], units: dict[str, tuple[str, int]]) -> html.Div:
    parts: list[Any] = [html.H4("What services count", className="oba-heading-s")]
    measured = rows.filter(pl.col("service_measure").is_not_null()) if rows.height else rows
    if measured.is_empty():
        parts.append(html.P("No service measure claims this theme here yet."))
        wanted = [w for w in (theme["data_development"] or "").split("; ") if w]
        if wanted:
            parts += [html.P("On the data development agenda:", className="oba-small"),
                      html.Ul([html.Li(w) for w in wanted], className="oba-list oba-small")]
        return html.Div(parts, className="oba-voice__service")
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in ("Measure", "Figure", "Against its baseline")]))
    body = []
    for row in measured.iter_rows(named=True):
        unit, decimals = units.get(row["service_measure"], ("", 1))
        baseline = (f" ({format_value(row['service_baseline'], unit, decimals)})"
                    if row["service_baseline"] is not None else "")
        body.append(html.Tr([
            html.Th(row["service_measure_name"], scope="row"),
            html.Td(_figure(row["service_value"], row["service_status"], unit, decimals), className="oba-num"),
            html.Td(MOVEMENT_TEXT.get(row["service_direction"] or "not known", "") + baseline),
        ]))
    parts.append(html.Table([html.Caption(f"Service measures claiming {theme['theme_name'].lower()}",
                                          className="oba-caption"), head, html.Tbody(body)],
                            className="oba-table"))
    return html.Div(parts, className="oba-voice__service")


def gaps_section(gaps: pl.DataFrame, area_name: str, label: str) -> html.Section:
    """Family and professional ratings of the same families, side by side: the gap is its own measure."""
    parts: list[Any] = [
        html.H2("Where families and professionals rate differently", id="what-families-gaps-heading"),
        html.P("When a family member and a professional rate the same family on the same day, the gap between "
               "them is shown here rather than averaged away. A positive gap means the first rater sees "
               "things as better than the second.", className="oba-hint"),
    ]
    if gaps.is_empty():
        parts.append(html.P(f"No paired ratings for {area_name} in {label}."))
    else:
        head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
            "Tool", "Raters", "Families", "Average gap (95% interval)", "Pairs where the first rates higher")]))
        body = []
        for row in gaps.iter_rows(named=True):
            first, second = (ROLE_TEXT.get(row[key], row[key]) for key in ("rater", "other_rater"))
            raters = f"{first} against {second.lower()}"
            if row["status"] != "ok":
                cells = [html.Td("c", className="oba-num"),
                         html.Td(status_explanation("c"), colSpan=2, className="oba-small")]
            else:
                cells = [html.Td(f"{row['families']:,}", className="oba-num"),
                         html.Td(f"{row['mean_gap']:+.1f} ({row['ci_low']:+.1f} to {row['ci_high']:+.1f})",
                                 className="oba-num"),
                         html.Td(f"{row['rater_higher_pct']:.0f}%", className="oba-num")]
            body.append(html.Tr([html.Th(INSTRUMENT_TEXT.get(row["instrument"], row["instrument"]), scope="row"),
                                 html.Td(raters), *cells]))
        parts.append(html.Table([html.Caption(f"Rater gaps, {area_name}, {label}", className="oba-caption"),
                                 head, html.Tbody(body)], className="oba-table", id="what-families-gaps"))
    return html.Section(parts, className="oba-section", **aria(labelledby="what-families-gaps-heading"))


def method_note() -> html.Details:
    return html.Details([
        html.Summary("How directions and agreement are judged"),
        html.P(f"Each measure is compared with its own baseline: the pooled figure of its previous "
               f"{rules.BASELINE_PERIODS} published reporting years (at least {rules.MIN_BASELINE_PERIODS}). "
               f"Percentages and rates move when a two-proportion test gives p < {rules.SIGNIFICANCE:.2f}, so "
               f"small groups must move a long way; other measures move when they are {rules.TOLERANCE:.0%} "
               "or more from the baseline mean. A family counts as improved on a theme when at least one of "
               "its own ratings for the theme moved by the tool's reliable-change threshold and none got "
               "reliably worse. Suppressed figures are never judged."),
    ], className="oba-details", id="what-families-method")


_kept_page = data.per_snapshot(page_content)
_kept_body = data.per_snapshot(page_body)


@callback(Output("what-families-body", "children"),
          Input("what-families-area", "value"), Input("what-families-year", "value"))
def _update_body(area_code: str | None, year: str | None) -> Any:
    return _kept_body(current_home(), area_code, year)
