"""Data quality page: when each source last refreshed and whether it is fresh, the rows set aside by rule,
and (for the data team) links to the full HTML validation reports.

Freshness follows the same rule as `oba status` (oba_pipeline/orchestration/freshness.py). Only counts
are shown here; the reports, which list the rows that broke each rule, are served to the data team only
(dashboards/reports.py). Builders are plain functions the tests call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dash
import polars as pl
from dash import html

from dashboards import data, downloads
from dashboards.app import current_home
from dashboards.auth import current_viewer
from dashboards.layout import aria
from dashboards.reports import may_read_reports, report_url
from oba_pipeline.config import Home
from oba_pipeline.orchestration.freshness import freshness_findings

dash.register_page(__name__, path="/data-quality", name="Data quality", title="Data quality - OBA toolkit",
                   order=80, roles=["data_team", "commissioner", "partnership_member"])

RULE_TEXT = {
    "type date": "not a real date", "type integer": "not a whole number", "type decimal": "not a number",
    "allowed": "a code not in the allowed list", "required": "a required value missing",
    "duplicate_row": "an exact copy of another row", "regex": "not in the expected form",
    "min": "below the smallest value allowed", "max": "above the largest value allowed",
    "not_after extract_date": "a date after the extract was made",
}
# Rules that name another column or file after a space: "not_before assessment_start_date".
RULE_PREFIX_TEXT = {
    "not_before": "earlier than {}, which it must not be", "requires": "filled in while {} is empty",
    "references": "not found in {}", "unique": "used twice where {} must be unique",
}


def layout(**_query: str) -> html.Div:
    viewer = current_viewer()
    if viewer is not None and viewer.public:
        return html.Div([html.H1("Data quality"), html.P("This page is for signed-in partnership staff.")],
                        className="oba-page")
    return page_content(current_home(), datetime.now(UTC).replace(tzinfo=None), may_read_reports())


# --- Builders (plain functions, called by the layout and by tests) ------------------------------------


def page_content(home: Home, now: datetime, show_reports: bool) -> html.Div:
    heading = html.H1("Data quality")
    info = data.snapshot_info(home)
    if info is None:
        return html.Div([heading, html.Div([
            html.H2("Nothing to show yet"),
            html.P("No refresh has published figures yet. Run `oba refresh`: this page then shows when each source "
                   "arrived and which rows were set aside."),
        ], className="oba-panel oba-empty", id="data-quality-empty")], className="oba-page")
    sources = data.source_details(home)
    summary = data.validation_summary(home)
    reports = data.validation_reports(home) if show_reports else {}
    return html.Div([
        heading,
        html.P("When each extract last arrived, whether it is up to date, and the rows a refresh set aside because "
               "they broke a rule of the extract's data contract. Rows set aside are left out of every figure; fix "
               "them in the source system and the next refresh picks them up.", className="oba-lede"),
        freshness_section(sources, now),
        rejected_section(sources, summary, contract_limits()),
        reports_section(sources, reports, show_reports),
    ], className="oba-page")


def freshness_rows(sources: pl.DataFrame, now: datetime) -> list[dict[str, Any]]:
    """Each source with its findings under the `oba status` rule (empty findings: fresh)."""
    return [{**row, "findings": freshness_findings(row["source"], row["loaded_at"], row["last_date"], now)}
            for row in sources.iter_rows(named=True)]


def freshness_section(sources: pl.DataFrame, now: datetime) -> html.Section:
    heading = html.H2("When each source last refreshed", id="data-quality-freshness-heading")
    rows = freshness_rows(sources, now)
    if not rows:
        return html.Section([heading, html.P("The published snapshot records no sources.")], className="oba-section")
    stale = sum(1 for row in rows if row["findings"])
    head = html.Thead(html.Tr([html.Th(t, scope="col") for t in (
        "Source", "Files", "Newest file written (UTC)", "Dates covered", "Up to date?")]))
    body = html.Tbody([html.Tr([
        html.Th(row["title"] or row["source"], scope="row"),
        html.Td(row["files"] or ""),
        html.Td(f"{row['loaded_at']:%-d %B %Y %H:%M}" if row["loaded_at"] else "no file loaded"),
        html.Td(f"{row['first_date']:%-d %B %Y} to {row['last_date']:%-d %B %Y}"
                if row["first_date"] and row["last_date"] else "no dated rows (an annual source)"),
        html.Td([html.Strong("Up to date", className="oba-trend--better")] if not row["findings"] else
                [html.Strong("Out of date", className="oba-trend--worse"),
                 html.Ul([html.Li(f) for f in row["findings"]], className="oba-list oba-small")]),
    ]) for row in rows])
    return html.Section([
        heading,
        html.P(f"{len(rows) - stale} of {len(rows)} sources are up to date. A source is out of date when its newest "
               "file is older than the refresh allows (36 hours by default; 400 days for the annual population "
               "estimates) or its data stops more than 45 days back: the same rule as `oba status`.",
               className="oba-hint", id="data-quality-freshness-summary"),
        html.Table([html.Caption("Sources in the published snapshot", className="oba-caption"), head, body],
                   className="oba-table", id="data-quality-freshness"),
        downloads.download_buttons("sources", "sources and when they refreshed"),
    ], className="oba-section", **aria(labelledby="data-quality-freshness-heading"))


def contract_limits() -> dict[str, float | None]:
    """Each source's `max_rejected_share` from its data contract (configuration, not data)."""
    from oba_pipeline.contracts.contract import load_contracts

    return {source: contract.max_rejected_share for source, contract in load_contracts().items()}


def contract_result(rows_read: int | None, rows_rejected: int | None, limit: float | None) -> str:
    """The blocking contract check's verdict on the share of rows set aside, in words."""
    if limit is None or not rows_read or rows_rejected is None:
        return "no limit recorded"
    share = rows_rejected / rows_read
    if share > limit:
        return f"over the {limit:.0%} allowed: the source's blocking check fails and nothing is published"
    return f"within the {limit:.0%} allowed"


def rejected_section(sources: pl.DataFrame, summary: pl.DataFrame,
                     limits: dict[str, float | None] | None = None) -> html.Section:
    heading = html.H2("Rows set aside, by rule", id="data-quality-rejected-heading")
    parts: list[Any] = [heading]
    limits = limits or {}
    if sources.height:
        totals = html.Table([
            html.Caption("Rows read, loaded and set aside per source, against the contract's limit",
                         className="oba-caption"),
            html.Thead(html.Tr([html.Th(t, scope="col") for t in ("Source", "Rows read", "Rows loaded",
                                                                   "Rows set aside", "Share set aside",
                                                                   "Contract check")])),
            html.Tbody([html.Tr([
                html.Th(row["title"] or row["source"], scope="row"),
                html.Td(_count(row["rows_read"]), className="oba-num"),
                html.Td(_count(row["rows_loaded"]), className="oba-num"),
                html.Td(_count(row["rows_rejected"]), className="oba-num"),
                html.Td(f"{100 * row['rows_rejected'] / row['rows_read']:.2f}%"
                        if row["rows_read"] and row["rows_rejected"] is not None else "", className="oba-num"),
                html.Td(contract_result(row["rows_read"], row["rows_rejected"], limits.get(row["source"]))),
            ]) for row in sources.iter_rows(named=True)]),
        ], className="oba-table", id="data-quality-totals")
        parts.append(totals)
    if summary.is_empty():
        parts.append(html.P("No rows were set aside in the last refresh, or this snapshot does not record them.",
                            id="data-quality-no-rejections"))
        return html.Section(parts, className="oba-section", **aria(labelledby="data-quality-rejected-heading"))
    titles = {row["source"]: row["title"] or row["source"] for row in sources.iter_rows(named=True)}
    parts += [
        html.Table([
            html.Caption("Rows set aside per source, rule and column", className="oba-caption"),
            html.Thead(html.Tr([html.Th(t, scope="col") for t in ("Source", "Rule", "What it means", "Column",
                                                                   "Rows set aside")])),
            html.Tbody([html.Tr([
                html.Th(titles.get(row["source"], row["source"]), scope="row"),
                html.Td(html.Code(row["rule"])),
                html.Td(rule_text(row["rule"])),
                html.Td(row["column"] or ""),
                html.Td(_count(row["rows_rejected"]), className="oba-num"),
            ]) for row in summary.iter_rows(named=True)]),
        ], className="oba-table", id="data-quality-rules"),
        downloads.download_buttons("validation_summary", "rows set aside by rule"),
    ]
    return html.Section(parts, className="oba-section", **aria(labelledby="data-quality-rejected-heading"))


def rule_text(rule: str | None) -> str:
    """A contract rule in plain words (rules with an argument, such as 'not_before x', keep it)."""
    if not rule:
        return ""
    if rule in RULE_TEXT:
        return RULE_TEXT[rule]
    name, _, argument = rule.partition(" ")
    if name in RULE_PREFIX_TEXT and argument:
        return RULE_PREFIX_TEXT[name].format(argument)
    return "see the validation report"


def reports_section(sources: pl.DataFrame, reports: dict[str, float], show_reports: bool) -> html.Section:
    heading = html.H2("Full validation reports", id="data-quality-reports-heading")
    if not show_reports:
        body: list[Any] = [html.P("The full reports list the rows that broke each rule, so they are for the data "
                                  "team only. Ask your data team if you need the detail behind the counts above.",
                                  id="data-quality-reports-restricted")]
    elif not reports:
        body = [html.P("No validation reports have been written yet: every refresh writes one per source.")]
    else:
        titles = {row["source"]: row["title"] or row["source"] for row in sources.iter_rows(named=True)}
        body = [
            html.P("One report per source from the last refresh: every rule in plain English and the rows that "
                   "broke it (identifiers and dates of birth withheld).", className="oba-hint"),
            html.Ul([html.Li([
                html.A(f"Validation report: {titles.get(source, source)}", href=report_url(source), target="_blank",
                       rel="noopener"),
                html.Span(f" (written {datetime.fromtimestamp(written, UTC):%-d %B %Y %H:%M} UTC; opens in a new tab)",
                          className="oba-small"),
            ]) for source, written in reports.items()], className="oba-list", id="data-quality-reports"),
        ]
    return html.Section([heading, *body], className="oba-section", **aria(labelledby="data-quality-reports-heading"))


def _count(value: int | None) -> str:
    return f"{value:,}" if value is not None else ""
