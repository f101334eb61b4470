"""Print-ready report cards and quarterly progress reports as self-contained HTML pages.

Pure builders: they take plain records (figures already through disclosure control, as published) and return
one HTML document with its styles inline and each chart as inline SVG, so the file opens, prints and
archives on its own, offline. Every piece of text is escaped: what people typed is shown, never run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from dashboards.figures import format_value, polarity_text, status_explanation
from dashboards.layout import OGL_LINE
from dashboards.measure_figures import Curve, curve_key, curve_svg, recent
from oba_pipeline.catalogue.catalogue import QUADRANTS

STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: Arial, Helvetica, sans-serif; color: #0b0c0c; font-size: 11pt; line-height: 1.35; margin: 0 auto;
       max-width: 190mm; }
h1 { font-size: 20pt; margin: 0 0 4pt; border-bottom: 4pt solid #1d70b8; padding-bottom: 4pt; }
h2 { font-size: 14pt; margin: 12pt 0 4pt; }
h3 { font-size: 12pt; margin: 8pt 0 2pt; }
p { margin: 2pt 0 6pt; }
.meta { color: #484949; font-size: 10pt; }
.measures { display: grid; grid-template-columns: 1fr 1fr; gap: 0 14pt; }
.measure { break-inside: avoid; border-top: 1pt solid #b1b4b6; padding-top: 4pt; margin-top: 6pt; }
.figures { display: flex; flex-wrap: wrap; gap: 2pt 12pt; font-size: 9.5pt; }
.figures strong { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; margin: 4pt 0 8pt; }
th, td { text-align: left; vertical-align: top; border-bottom: 1pt solid #b1b4b6; padding: 3pt 6pt 3pt 0; }
caption { text-align: left; font-weight: bold; padding-bottom: 3pt; }
.notes { white-space: pre-wrap; }
footer { margin-top: 12pt; border-top: 1pt solid #b1b4b6; padding-top: 4pt; font-size: 9pt; color: #484949; }
svg { max-width: 100%; height: auto; }
"""


@dataclass(frozen=True)
class MeasureCard:
    """One headline measure on a report card: its curve and what the verdict and latest figure say."""

    curve: Curve
    latest_text: str
    verdict_text: str
    session: Any = None  # the latest turn-the-curve session on it (oba_pipeline.turn_the_curve.sessions)
    actions: tuple[Any, ...] = ()  # every action on it, from every session, in the order they were added


@dataclass(frozen=True)
class ProgressReport:
    area_name: str
    quarter_label: str
    quarter_start: date
    quarter_end: date
    verdicts: Sequence[Mapping[str, Any]]  # name, overall, overall_label, cycle_name, window_to
    services: Sequence[Mapping[str, Any]]  # name, service, quadrant, latest_text, prior_text, trend_text
    completed: Sequence[Mapping[str, Any]]  # measure, description, owner, completed_on
    started: Sequence[Mapping[str, Any]] = field(default_factory=list)  # measure, description, owner, start_date


def latest_text(history: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    """The latest figure in words, or its symbol with the reason when it is not published."""
    if not history:
        return "No published figures."
    last = history[-1]
    if last.get("status") != "ok" or last.get("value") is None:
        return f"{last['period_label']}: {last.get('status')} ({status_explanation(last.get('status'))})"
    return f"{last['period_label']}: {format_value(last['value'], str(meta['unit']), int(meta.get('decimals') or 0))}"


def _page(title: str, subtitle: str, body: str, published: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{STYLE}</style>\n</head>\n'
            f'<body>\n<main>\n<h1>{escape(title)}</h1>\n<p class="meta">{escape(subtitle)}</p>\n{body}\n</main>\n'
            f"<footer><p>Figures from the published snapshot of {escape(published)}, after disclosure control: "
            "c marks a figure suppressed to protect confidentiality, x one not available. Sessions, partners, "
            f"what works and actions are the partnership's own record.</p><p>{escape(OGL_LINE)}</p></footer>\n"
            "</body>\n</html>\n")


def _text(label: str, value: str) -> str:
    return f"<h3>{escape(label)}</h3><p class=\"notes\">{escape(value) if value else 'Nothing recorded.'}</p>"


def report_card_html(group: str, kind: str, area_name: str, cards: Sequence[MeasureCard], published: str) -> str:
    """A one-page report card for a result (population indicators) or a service (performance measures)."""
    what = "Result" if kind == "result" else "Service"
    sections = ["<h2>Headline measures and their baselines</h2>", '<div class="measures">']
    if not cards:
        sections.append("<p>No measures of this result or service are published for this area.</p>")
    for card in cards:
        meta = card.curve.meta
        question = QUADRANTS.get(str(meta.get("quadrant")), "") if meta.get("quadrant") else ""
        forecast = card.curve.forecast
        baseline = (f"{forecast.label} ({'frozen' if forecast.frozen else 'not frozen yet'})" if forecast
                    else "No baseline: too few published figures")
        sections.append(
            f'<section class="measure"><h3>{escape(str(meta["name"]))}</h3>'
            + (f'<p class="meta">{escape(question)}</p>' if question else "")
            + f'<div class="figures"><span>Latest: <strong>{escape(card.latest_text)}</strong></span>'
            f"<span>{escape(polarity_text(str(meta.get('polarity'))).capitalize())}</span>"
            f"<span>Turn the curve: <strong>{escape(card.verdict_text)}</strong></span>"
            f"<span>Baseline: {escape(baseline)}</span></div>"
            f'{curve_svg(recent(card.curve))}<p class="meta">{escape(curve_key(card.curve))}</p></section>')
    sections.append("</div>")
    with_sessions = [c for c in cards if c.session is not None]
    story = "".join(
        f"<h3>{escape(str(c.curve.meta['name']))} (session of {c.session.held_on:%-d %B %Y})</h3>"
        f"<p class=\"notes\"><strong>What helps:</strong> {escape(c.session.story_helps or 'nothing recorded')}</p>"
        f"<p class=\"notes\"><strong>What hurts:</strong> {escape(c.session.story_hurts or 'nothing recorded')}</p>"
        for c in with_sessions)
    sections.append("<h2>The story behind the curves</h2>"
                    + (story or "<p>No turn-the-curve session recorded yet.</p>"))
    partners = [(c, p) for c in with_sessions for p in c.session.partners]
    sections.append("<h2>Partners with a role to play</h2>" + (
        "<ul>" + "".join(f"<li><strong>{escape(p.name)}</strong>{': ' + escape(p.role) if p.role else ''}</li>"
                         for _, p in partners) + "</ul>" if partners else "<p>None recorded yet.</p>"))
    works = [(c, w) for c in with_sessions for w in c.session.what_works]
    sections.append("<h2>What works</h2>" + (
        "<ul>" + "".join(f"<li><strong>{escape(w.idea)}</strong> ({escape(w.cost_label.lower())})"
                         f"{'. Evidence: ' + escape(w.evidence) if w.evidence else ''}</li>" for _, w in works)
        + "</ul>" if works else "<p>None recorded yet.</p>"))
    actions = [(c, a) for c in with_sessions for a in (c.actions or c.session.actions)]
    sections.append("<h2>Action plan</h2>" + (
        "<table><thead><tr><th scope=\"col\">Action</th><th scope=\"col\">Measure</th><th scope=\"col\">Owner</th>"
        "<th scope=\"col\">Start</th><th scope=\"col\">Due</th><th scope=\"col\">Status</th></tr></thead><tbody>"
        + "".join(f"<tr><td>{escape(a.description)}</td><td>{escape(str(c.curve.meta['name']))}</td>"
                  f"<td>{escape(a.owner)}</td><td>{a.start_date:%-d %b %Y}</td><td>{a.due_date:%-d %b %Y}</td>"
                  f"<td>{escape(a.status_label)}</td></tr>" for c, a in actions)
        + "</tbody></table>" if actions else "<p>No actions recorded yet.</p>"))
    return _page(f"Report card: {group}", f"{what} · {area_name}", "\n".join(sections), published)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of plain text cells (escaped here)."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def progress_report_html(report: ProgressReport, published: str) -> str:
    """The quarterly progress report: curves turned, service performance and accomplishments."""
    order = {"better": 0, "slowing": 1, "worse": 2}
    verdicts = sorted(report.verdicts, key=lambda v: (order.get(str(v.get("overall")), 3), str(v.get("name"))))
    turned = [v for v in verdicts if v.get("overall") == "better"]
    parts = [f"<p>{len(turned)} of {len(verdicts)} curves judged have turned: they are doing better than their "
             "baseline.</p>", "<h2>Curves</h2>"]
    parts.append(_table(("Measure", "Verdict", "Against"), [
        (str(v["name"]), str(v.get("overall_label") or v.get("overall")),
         f"the baseline frozen for {v['cycle_name']}" if v.get("cycle_name") else "the provisional baseline")
        for v in verdicts]) if verdicts else "<p>No verdicts published.</p>")
    parts.append("<h2>Service performance</h2>")
    parts.append(_table(("Measure", "Service and question", "Latest", "Before", "Trend"), [
        (str(s["name"]), ", ".join(filter(None, [str(s.get("service") or ""),
                                                 QUADRANTS.get(str(s.get("quadrant")), "")])),
         str(s["latest_text"]), str(s["prior_text"]), str(s["trend_text"]))
        for s in report.services]) if report.services else "<p>No performance measures published.</p>")
    parts.append("<h2>Accomplishments: actions completed this quarter</h2>")
    parts.append(_table(("Action", "Measure", "Owner", "Completed"), [
        (str(a["description"]), str(a["measure"]), str(a["owner"]), f"{a['completed_on']:%-d %B %Y}")
        for a in report.completed]) if report.completed else "<p>No actions were completed this quarter.</p>")
    if report.started:
        parts.append("<h2>Actions started this quarter</h2>")
        parts.append(_table(("Action", "Measure", "Owner", "Started"), [
            (str(a["description"]), str(a["measure"]), str(a["owner"]), f"{a['start_date']:%-d %B %Y}")
            for a in report.started]))
    parts.append("<h2>Stories of people better off</h2><p>Add the stories the partnership has heard this quarter "
                 "here before sharing the report.</p>")
    return _page(f"Progress report: {report.quarter_label}",
                 f"{report.area_name} · {report.quarter_start:%-d %B %Y} to {report.quarter_end:%-d %B %Y}",
                 "\n".join(parts), published)


def quarter_of(day: date) -> tuple[date, date, str]:
    """The calendar quarter a day falls in: its first and last day and a label ('January to March 2026')."""
    first_month = (day.month - 1) // 3 * 3 + 1
    start = date(day.year, first_month, 1)
    nxt = date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    end = date.fromordinal(nxt.toordinal() - 1)
    return start, end, f"{start:%B} to {end:%B %Y}"
