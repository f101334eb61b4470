"""Report cards and progress reports: a one-page report card per result or service (headline measures with
their baselines, the story, partners, what works and the action plan) and a quarterly progress report for a
partnership (curves turned, service performance, accomplishments), each downloaded as a print-ready HTML page.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import dash
import polars as pl
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboards import data
from dashboards.app import current_home
from dashboards.auth import audit
from dashboards.figures import format_value
from dashboards.pages.measure import build_curve, chosen_verdict
from dashboards.report_cards import MeasureCard, ProgressReport, latest_text, progress_report_html, quarter_of
from dashboards.report_cards import report_card_html as card_html
from oba_pipeline.config import Home

dash.register_page(__name__, path="/report-card", name="Report cards", title="Report cards - OBA toolkit", order=7)

QUARTERS_SHOWN = 8


def layout(**_query: str) -> html.Div:
    return page_content(current_home())


# --- Builders (plain functions, called by the callbacks and by tests) --------------------------------


def group_options(entries: pl.DataFrame) -> list[dict[str, str]]:
    """Each result (its population indicators) and each service (its performance measures)."""
    results = [r for r in entries.get_column("result").unique(maintain_order=True).to_list() if r]
    services = [s for s in entries.get_column("service").unique(maintain_order=True).to_list() if s]
    return ([{"label": f"Result: {r}", "value": f"result:{r}"} for r in results]
            + [{"label": f"Service: {s}", "value": f"service:{s}"} for s in services])


def quarter_options(last_day: date, count: int = QUARTERS_SHOWN) -> list[dict[str, str]]:
    """The latest `count` calendar quarters up to `last_day`, newest first."""
    options = []
    day = last_day
    for _ in range(count):
        start, _end, label = quarter_of(day)
        options.append({"label": label, "value": start.isoformat()})
        day = date.fromordinal(start.toordinal() - 1)
    return options


def page_content(home: Home) -> html.Div:
    entries = data.catalogue(home)
    area_frame = data.areas(home)
    info = data.snapshot_info(home) or {}
    if entries.is_empty() or area_frame.is_empty():
        return html.Div([html.H1("Report cards"), html.P("No figures have been published yet.")], className="oba-page")
    groups = group_options(entries)
    extract = str(info.get("extract_date") or date.today().isoformat())[:10]
    quarters = quarter_options(date.fromisoformat(extract))
    return html.Div([
        html.H1("Report cards and progress reports"),
        html.P("A report card puts one result or service on a page: its headline measures with their baselines, "
               "the story behind the curves, partners, what works and the action plan. The progress report says what "
               "moved in a quarter. Both download as a web page that prints on A4 and opens offline.",
               className="oba-lede"),
        html.Div([
            html.Div([html.Label("Area", htmlFor="report-area", className="oba-label"),
                      dcc.Dropdown(id="report-area", value=str(area_frame.get_column("area_code")[0]), clearable=False,
                                   searchable=False, className="oba-dropdown",
                                   options=[{"label": f"{r['area_name']} ({r['area_type']})", "value": r["area_code"]}
                                            for r in area_frame.iter_rows(named=True)])], className="oba-control"),
            html.Div([html.Label("Result or service", htmlFor="report-group", className="oba-label"),
                      dcc.Dropdown(id="report-group", value=groups[0]["value"] if groups else None, options=groups,
                                   clearable=False, searchable=False, className="oba-dropdown")],
                     className="oba-control"),
        ], className="oba-controls"),
        html.Button("Download the report card (HTML)", id="report-download-card", n_clicks=0, className="oba-button",
                    type="button"),
        html.Div([
            html.Div([html.Label("Quarter", htmlFor="report-quarter", className="oba-label"),
                      dcc.Dropdown(id="report-quarter", value=quarters[0]["value"], options=quarters, clearable=False,
                                   searchable=False, className="oba-dropdown")], className="oba-control"),
            html.Button("Download the progress report (HTML)", id="report-download-progress", n_clicks=0,
                        className="oba-button", type="button"),
        ], className="oba-form-row"),
        html.P(id="report-message", role="status", className="oba-status"),
        dcc.Download(id="report-download"),
    ], className="oba-page")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "report"


def _published(home: Home) -> str:
    info = data.snapshot_info(home) or {}
    moment = str(info.get("published_at") or "")[:10]
    try:
        return f"{date.fromisoformat(moment):%-d %B %Y}"
    except ValueError:
        return "an unrecorded date"


def _area_name(home: Home, area_code: str) -> str | None:
    found = data.areas(home).filter(pl.col("area_code") == area_code)
    return str(found.get_column("area_name")[0]) if found.height else None


def measure_card(home: Home, meta: dict[str, Any], area_code: str, sessions: list[Any]) -> MeasureCard:
    """One measure on a report card, with its latest session's cycle and every action on it."""
    own = [s for s in sessions if s.indicator_id == meta["indicator_id"]]
    session = own[0] if own else None
    if session is not None:
        period_type = session.period_type
    else:
        monthly = data.history(home, str(meta["indicator_id"]), area_code, "month")
        period_type = "month" if monthly.height else "reporting_year"
    actions = sorted((a for s in own for a in s.actions), key=lambda a: a.id)
    cycle_id = session.cycle_id if session is not None else None
    curve, _ = build_curve(home, meta, area_code, period_type, cycle_id, actions)
    verdicts = data.area_verdicts(home, area_code, period_type).filter(
        pl.col("indicator_id") == meta["indicator_id"]).to_dicts()
    verdict = (chosen_verdict(verdicts, cycle_id) if cycle_id is not None else None) or chosen_verdict(verdicts)
    verdict_text = str(verdict.get("overall_label") or verdict.get("overall")) if verdict else "Not judged yet"
    return MeasureCard(curve=curve, latest_text=latest_text(curve.history, meta), verdict_text=verdict_text,
                       session=session, actions=tuple(actions))


def report_card(home: Home, area_code: str | None, group: str | None) -> tuple[str, str] | None:
    """The report card's file name and HTML, or None when the area or group is not there for this reader."""
    if not area_code or not group or ":" not in group:
        return None
    area_name = _area_name(home, area_code)
    if area_name is None:
        return None
    kind, name = group.split(":", 1)
    column = "result" if kind == "result" else "service"
    entries = data.catalogue(home).filter(pl.col(column) == name)
    sessions = data.area_sessions(home, area_code)  # latest first: each measure's first is its latest
    cards = [measure_card(home, meta, area_code, sessions) for meta in entries.iter_rows(named=True)]
    filename = f"report-card-{_slug(name)}-{_slug(area_code)}.html"
    audit("export", filename, page="report_card", area_code=area_code, group=group)
    return filename, card_html(name, kind, area_name, cards, _published(home))


def _at_quarter_end(history: pl.DataFrame, end: date) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The last monthly figure in the quarter and the one three months before it."""
    rows = history.filter(pl.col("period_end") <= end).to_dicts()
    if not rows:
        return None, None
    latest = rows[-1]
    before = next((r for r in reversed(rows) if (latest["period_start"].year * 12 + latest["period_start"].month)
                   - (r["period_start"].year * 12 + r["period_start"].month) == 3), None)
    return latest, before


def _figure(row: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    if row is None:
        return "no figure"
    if row["status"] != "ok" or row["value"] is None:
        return f"{row['period_label']}: {row['status']}"
    return f"{row['period_label']}: {format_value(row['value'], str(meta['unit']), int(meta.get('decimals') or 0))}"


def progress_report(home: Home, area_code: str | None, quarter: str | None) -> tuple[str, str] | None:
    """The quarterly progress report's file name and HTML for one area, or None when there is nothing to say."""
    if not area_code or not quarter:
        return None
    area_name = _area_name(home, area_code)
    if area_name is None:
        return None
    start, end, label = quarter_of(date.fromisoformat(quarter))
    entries = data.catalogue(home)
    names = dict(zip(entries.get_column("indicator_id"), entries.get_column("name"), strict=True))
    verdicts: dict[str, dict[str, Any]] = {}
    for period_type in ("month", "reporting_year"):
        frame = data.area_verdicts(home, area_code, period_type)
        for indicator_id in frame.get_column("indicator_id").unique(maintain_order=True).to_list():
            chosen = chosen_verdict(frame.filter(pl.col("indicator_id") == indicator_id).to_dicts())
            if chosen is not None and indicator_id not in verdicts and chosen.get("overall") != "withheld":
                verdicts[indicator_id] = {**chosen, "name": names.get(indicator_id, indicator_id)}
    services = []
    for meta in entries.filter(pl.col("oba_kind") == "performance_measure").iter_rows(named=True):
        latest, before = _at_quarter_end(data.history(home, str(meta["indicator_id"]), area_code, "month"), end)
        if latest is None:
            continue
        trend = "not enough figures"
        if before is not None and latest["status"] == before["status"] == "ok":
            step = data.judge_trend([before["value"], latest["value"]], ["ok", "ok"], str(meta["polarity"]),
                                    int(meta["decimals"] or 0))
            trend = f"{step.direction}: {step.verdict}" if step.direction else trend
        services.append({"name": meta["name"], "service": meta["service"], "quadrant": meta["quadrant"],
                         "latest_text": _figure(latest, meta), "prior_text": _figure(before, meta),
                         "trend_text": trend})
    actions = [(s, a) for s in data.area_sessions(home, area_code) for a in s.actions]
    completed = [{"description": a.description, "owner": a.owner, "completed_on": a.completed_on,
                  "measure": names.get(s.indicator_id, s.indicator_id)} for s, a in actions
                 if a.status == "done" and a.completed_on is not None and start <= a.completed_on <= end]
    started = [{"description": a.description, "owner": a.owner, "start_date": a.start_date,
                "measure": names.get(s.indicator_id, s.indicator_id)} for s, a in actions
               if start <= a.start_date <= end]
    report = ProgressReport(area_name=area_name, quarter_label=label, quarter_start=start, quarter_end=end,
                            verdicts=list(verdicts.values()), services=services, completed=completed, started=started)
    filename = f"progress-report-{start:%Y-%m}-{_slug(area_code)}.html"
    audit("export", filename, page="progress_report", area_code=area_code, quarter=quarter)
    return filename, progress_report_html(report, _published(home))


# --- Callbacks (thin wrappers) -----------------------------------------------------------------------


@callback(Output("report-download", "data"), Output("report-message", "children"),
          Input("report-download-card", "n_clicks"), State("report-area", "value"), State("report-group", "value"),
          prevent_initial_call=True)
def _download_card(clicks: int | None, area_code: str | None, group: str | None) -> tuple[Any, Any]:
    made = report_card(current_home(), area_code, group) if clicks else None
    if made is None:
        return no_update, "There is no report card for that choice."
    filename, page = made
    return dcc.send_string(page, filename, type="text/html"), f"Downloaded {filename}."


@callback(Output("report-download", "data", allow_duplicate=True),
          Output("report-message", "children", allow_duplicate=True),
          Input("report-download-progress", "n_clicks"), State("report-area", "value"),
          State("report-quarter", "value"), prevent_initial_call=True)
def _download_progress(clicks: int | None, area_code: str | None, quarter: str | None) -> tuple[Any, Any]:
    made = progress_report(current_home(), area_code, quarter) if clicks else None
    if made is None:
        return no_update, "There is no progress report for that choice."
    filename, page = made
    return dcc.send_string(page, filename, type="text/html"), f"Downloaded {filename}."
