"""Downloads for every chart and table: data as CSV or XLSX, charts as PNG, with disclosure control applied.

A page puts `download_buttons("scorecard", "the scorecard", area_code=..., period_type=...)` under a
table or chart. The buttons carry only the table's name and its choices; the figures are read again on
the server, through `dashboards.data` (so the reader's role and areas apply: the public read the public
subset, published under the public profile) and through `oba_pipeline.export.check_frame_disclosure`
(the export path's second look at small counts), then sent through the one `dcc.Download` in the page
frame. Every download is audited. Charts get Plotly's own "download as PNG" button (`graph_config`),
which draws the image in the browser from the locally served plotly.js: nothing leaves the machine.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import dash
import polars as pl
from dash import ALL, Input, Output, ctx, dcc, html, no_update

from dashboards import data
from dashboards.app import current_home
from dashboards.auth import audit, current_viewer
from dashboards.layout import aria
from oba_pipeline.config import Home
from oba_pipeline.export import DisclosureBreachError, check_frame_disclosure, frame_bytes

log = logging.getLogger(__name__)

DOWNLOAD_ID = "oba-download"
BUTTON_TYPE = "oba-download-button"
MESSAGE_ID = "oba-download-message"
FORMATS = {"csv": "CSV", "xlsx": "Excel (XLSX)"}

Builder = Callable[..., pl.DataFrame]
TABLES: dict[str, Builder] = {}


def table(name: str) -> Callable[[Builder], Builder]:
    """Register a builder: `builder(home, **choices)` returns the figures a table or chart shows."""

    def register(builder: Builder) -> Builder:
        TABLES[name] = builder
        return builder

    return register


def graph_config(filename: str) -> Any:
    """dcc.Graph config with one modebar button: download the chart as a PNG image (drawn in the browser)."""
    return {"displaylogo": False, "displayModeBar": True, "modeBarButtons": [["toImage"]],
            "toImageButtonOptions": {"format": "png", "filename": safe_name(filename), "scale": 2}}


def download_buttons(name: str, label: str, **choices: Any) -> html.Div:
    """Buttons to download the figures behind one table or chart, as CSV and as XLSX."""
    args = json.dumps({key: _plain(value) for key, value in choices.items()}, sort_keys=True)
    return html.Div([
        html.Button(f"Download {text}", type="button", n_clicks=0, className="oba-button oba-button--quiet",
                    id={"type": BUTTON_TYPE, "table": name, "format": fmt, "args": args},
                    **aria(label=f"Download {text}: {label}"))
        for fmt, text in FORMATS.items()
    ], className="oba-downloads")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def safe_name(text: str) -> str:
    """A file name from words: lower case, letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "oba"


def download_frame(home: Home, name: str, choices: dict[str, Any]) -> pl.DataFrame:
    """The figures a registered table shows for these choices, after the reader's disclosure profile."""
    builder = TABLES.get(name)
    if builder is None:
        raise KeyError(f"no downloadable table called {name!r}")
    frame = builder(home, **choices)
    viewer = current_viewer()
    audience = "public" if viewer is not None and viewer.public else "standard"
    return check_frame_disclosure(frame, audience, name)


def download_payload(home: Home, name: str, fmt: str, args: str) -> dict[str, Any]:
    """What dcc.Download needs to save one table in one format."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown download format {fmt!r}")
    choices = json.loads(args) if args else {}
    if not isinstance(choices, dict):
        raise ValueError("download choices must be a mapping")
    frame = download_frame(home, name, choices)
    filename = safe_name("-".join([name, *(str(v) for v in choices.values() if v)])) + f".{fmt}"
    audit("export", name, format=fmt, rows=frame.height, **{k: str(v) for k, v in choices.items()})
    return dcc.send_bytes(frame_bytes(frame, fmt, sheet=name), filename)


def install(app: dash.Dash) -> None:
    """Register the download callback on one app. It is not a module-level `dash.callback`: this module is
    imported once per process, and Dash hands such callbacks only to the first app that starts, so a second
    app in the same process (tests, or several homes served at once) would have buttons that do nothing."""
    app.callback(Output(DOWNLOAD_ID, "data"), Output(MESSAGE_ID, "children"),
                 Input({"type": BUTTON_TYPE, "table": ALL, "format": ALL, "args": ALL}, "n_clicks"),
                 prevent_initial_call=True)(_download)


def _download(_clicks: list[int | None]) -> tuple[Any, Any]:
    pressed = ctx.triggered[0]["value"] if ctx.triggered else None
    chosen = ctx.triggered_id
    if not pressed or not isinstance(chosen, dict):
        return no_update, no_update
    try:
        return download_payload(current_home(), str(chosen["table"]), str(chosen["format"]), str(chosen["args"])), ""
    except DisclosureBreachError as error:
        log.error("%s", error)
        return no_update, str(error)
    except (KeyError, ValueError, TypeError) as error:
        log.warning("download refused: %s", error)
        return no_update, "That download is not available. Reload the page and try again."


# --- What each table and chart downloads (read through dashboards.data, so roles and areas apply) -----


@table("scorecard")
def _scorecard(home: Home, area_code: str, period_type: str) -> pl.DataFrame:
    rows = data.scorecard_rows(home, area_code, period_type).drop("recent_statuses")
    return rows.join(data.ttc_scorecard(home, area_code, period_type), on="indicator_id", how="left")


@table("history")
def _history(home: Home, indicator_id: str, area_code: str, period_type: str) -> pl.DataFrame:
    points = data.history(home, indicator_id, area_code, period_type)
    return points.select(pl.lit(indicator_id).alias("indicator_id"), pl.lit(area_code).alias("area_code"),
                         pl.lit(period_type).alias("period_type"), pl.all())


@table("baselines")
def _baselines(home: Home, indicator_id: str, area_code: str, period_type: str) -> pl.DataFrame:
    rows = data.measure_baselines(home, indicator_id, area_code, period_type)
    return rows.select(pl.lit(indicator_id).alias("indicator_id"), pl.lit(area_code).alias("area_code"),
                       pl.lit(period_type).alias("period_type"), pl.all())


@table("story_behind_the_curve")
def _story(home: Home, indicator_id: str, area_code: str) -> pl.DataFrame:
    return data.story_behind_the_curve(home, indicator_id, area_code)


@table("family_vs_service")
def _family_vs_service(home: Home, area_code: str, year: str) -> pl.DataFrame:
    return data.family_vs_service(home, area_code).filter(pl.col("period_start") == date.fromisoformat(year))


@table("family_divergent")
def _family_divergent(home: Home, year: str) -> pl.DataFrame:
    return data.family_divergent(home, date.fromisoformat(year))


@table("family_rater_gaps")
def _family_rater_gaps(home: Home, area_code: str, year: str) -> pl.DataFrame:
    return data.family_rater_gaps(home, area_code, date.fromisoformat(year))


@table("benchmark_series")
def _benchmark_series(home: Home, measure_id: str, area_code: str) -> pl.DataFrame:
    return data.benchmark_series(home, measure_id, area_code)


@table("benchmark_neighbours")
def _benchmark_neighbours(home: Home, measure_id: str, area_code: str, year: int) -> pl.DataFrame:
    own = data.benchmark_series(home, measure_id, area_code).filter(pl.col("year") == int(year))
    return pl.concat([own, data.benchmark_neighbour_values(home, measure_id, area_code, int(year))])


@table("benchmark_year")
def _benchmark_year(home: Home, measure_id: str, year: int) -> pl.DataFrame:
    return data.benchmark_year(home, measure_id, int(year))


@table("sources")
def _sources(home: Home) -> pl.DataFrame:
    return data.source_details(home)


@table("validation_summary")
def _validation_summary(home: Home) -> pl.DataFrame:
    return data.validation_summary(home)
