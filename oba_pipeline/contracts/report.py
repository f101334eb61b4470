"""A standalone HTML validation report: per source, every rule in plain English and the rows that broke it.

It plays the part of Great Expectations' Data Docs for people who fix extracts: one file, no external
CSS or JavaScript, every value HTML-escaped. Identifier and personal values arrive already withheld.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oba_pipeline.contracts.validate import CheckOutcome, ValidationOutcome, ValidationSummary

log = logging.getLogger(__name__)

Outcome = ValidationOutcome | ValidationSummary | CheckOutcome
Shown = ValidationSummary | CheckOutcome
MESSAGES_SHOWN = 20

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 2rem; color: #1b1b1b;
       line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #b1b4b6; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f2f1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #00703c; font-weight: 600; } .fail { color: #d4351c; font-weight: 600; }
.skip { color: #505a5f; font-weight: 600; }
ul.examples { margin: 0; padding-left: 1.1rem; } code { font-size: 0.95em; }
.messages li { margin-bottom: 0.3rem; }
"""


def write_report(
    outcome_or_outcomes: Outcome | Iterable[Outcome] | Mapping[str, Outcome], path: Path
) -> Path:
    """Write the report for one outcome or several (validation or accepted-table check) to `path`."""
    outcomes = _as_list(outcome_or_outcomes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = render_report(outcomes)
    # Write beside the target and swap in, so a browser never shows a half-written report.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(document, encoding="utf-8")
    os.replace(partial, path)
    log.info(
        "validation report for %s written to %s", ", ".join(o.source for o in outcomes) or "nothing", path
    )
    return path


def render_report(outcomes: list[Shown]) -> str:
    """The report as one HTML string."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Data validation report</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>Data validation report</h1>",
        f"<p>Generated {_e(generated)}. Each rule comes from the source's data contract. Rows that break "
        "a rule are set aside in rejected_rows; the rest of the file is loaded. Identifiers and personal "
        "details are shown as &lt;withheld&gt;: use the file and row to find them.</p>",
        _summary(outcomes),
    ]
    parts.extend(_section(outcome) for outcome in outcomes)
    parts.append("</main></body></html>")
    return "\n".join(parts)


# --- pieces --------------------------------------------------------------------------------------------


def _as_list(value: Outcome | Iterable[Outcome] | Mapping[str, Outcome]) -> list[Shown]:
    if isinstance(value, ValidationOutcome | ValidationSummary | CheckOutcome):
        items: list[Outcome] = [value]
    elif isinstance(value, Mapping):
        items = list(value.values())
    else:
        items = list(value)
    return [o.summary(MESSAGES_SHOWN) if isinstance(o, ValidationOutcome) else o for o in items]


def _summary(outcomes: list[Shown]) -> str:
    rows = []
    for o in outcomes:
        counts: tuple[int, int, int | None, float, float | None]
        if isinstance(o, ValidationSummary):
            limit = o.max_rejected_share
            if o.rejected_row_count == 0:
                status = '<span class="pass">Loaded</span>'
            elif limit is None or o.rejected_share <= limit:
                status = '<span class="skip">Loaded, some rows rejected</span>'
            else:
                status = '<span class="fail">Too many rows rejected</span>'
            counts = (o.rows_read, o.rows_accepted, o.rejected_row_count, o.rejected_share, limit)
        else:
            status = _status(o.passed, skipped=False, labels=("Check passed", "Check failed"))
            counts = (o.rows, o.rows, None, o.rejected_share, o.max_rejected_share)
        read, accepted, rejected, share, limit = counts
        rows.append(
            f'<tr><th scope="row"><a href="#{_anchor(o)}">{_e(o.title or o.source)}</a></th>'
            f"<td>{_e(_kind(o))}</td><td class=num>{_n(read)}</td><td class=num>{_n(accepted)}</td>"
            f"<td class=num>{_n(rejected)}</td><td class=num>{_pct(share)}</td>"
            f"<td class=num>{_pct(limit)}</td>"
            f"<td>{status}</td></tr>"
        )
    return (
        "<table><caption>Summary</caption><thead><tr><th scope=col>Source</th><th scope=col>Stage</th>"
        "<th scope=col>Rows read</th><th scope=col>Rows accepted</th><th scope=col>Rows rejected</th>"
        "<th scope=col>Rejected share</th><th scope=col>Limit</th><th scope=col>Result</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _section(o: Shown) -> str:
    heading = (
        f'<h2 id="{_anchor(o)}">{_e(o.title or o.source)} '
        f"<small>({_e(o.source)}, {_e(_kind(o))})</small></h2>"
    )
    rows = "".join(_expectation_row(e) for e in o.expectations)
    table = (
        f"<table><caption>Rules checked for {_e(o.source)}</caption><thead><tr><th scope=col>Result</th>"
        "<th scope=col>Rule</th><th scope=col>Column</th><th scope=col>Rule code</th>"
        "<th scope=col>Checked by</th>"
        "<th scope=col>Rows checked</th><th scope=col>Rows breaking it</th>"
        "<th scope=col>Examples (up to 20: value, file and row)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    if isinstance(o, ValidationSummary):
        lines = o.messages(MESSAGES_SHOWN)
        title = f"First problems ({o.problem_count} in all)"
    else:
        lines = o.failures
        title = "Why the check failed"
    listing = (
        f"<h3>{_e(title)}</h3><ol class=messages>{''.join(f'<li>{_e(m)}</li>' for m in lines)}</ol>"
        if lines
        else "<p>No problems found.</p>"
    )
    return f"<section>{heading}{table}{listing}</section>"


def _expectation_row(e: Mapping[str, Any]) -> str:
    skipped = e.get("success") is None
    status = _status(bool(e.get("success")), skipped=skipped, labels=("Passed", "Failed"))
    examples = e.get("unexpected") or []
    if examples:
        items = "".join(
            f"<li>{_value(x.get('value'))}: {_e(x.get('file'))} row {_e(x.get('row'))}</li>"
            for x in examples[:20]
        )
        shown = f"<ul class=examples>{items}</ul>"
    else:
        shown = _e(e.get("note", ""))
    engine = "Great Expectations" if e.get("engine") == "great_expectations" else "polars"
    return (
        f"<tr><td>{status}</td><td>{_e(e.get('name'))}</td><td><code>{_e(e.get('column'))}</code></td>"
        f"<td><code>{_e(e.get('rule'))}</code></td><td>{_e(engine)}<br><small>{_e(e.get('kind'))}</small></td>"
        f"<td class=num>{_n(e.get('element_count'))}</td><td class=num>{_n(e.get('unexpected_count'))}</td>"
        f"<td>{shown}</td></tr>"
    )


def _status(ok: bool, *, skipped: bool, labels: tuple[str, str]) -> str:
    if skipped:
        return '<span class="skip">Not checked</span>'
    return (
        f'<span class="pass">{_e(labels[0])}</span>' if ok else f'<span class="fail">{_e(labels[1])}</span>'
    )


def _kind(o: Shown) -> str:
    return "validation of the extract" if isinstance(o, ValidationSummary) else "check of the accepted table"


def _anchor(o: Shown) -> str:
    return _e(f"{o.source}-{'validation' if isinstance(o, ValidationSummary) else 'check'}")


def _value(value: Any) -> str:
    if value is None:
        return "<em>(empty)</em>"
    text = str(value)
    if text.startswith("<withheld"):
        return f"<em>{_e(text)}</em>"
    return f"<code>&#39;{_e(text)}&#39;</code>"


def _n(value: Any) -> str:
    return "" if value is None else _e(f"{value:,}" if isinstance(value, int) else value)


def _pct(value: float | None) -> str:
    return "" if value is None else _e(f"{value:.1%}")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)
