"""The progress maps page's builders and data access, on a snapshot made from the real DfE files."""

from __future__ import annotations

import importlib
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
import pytest
from benchmark_fixtures import publish_with_benchmarks
from dashboard_fixtures import publish_sample

from dashboards import data
from dashboards.progress_figures import (
    HOME_COLOUR,
    line_of_best_fit,
    ranked_bar_figure,
    tile_grid_figure,
    trend_figure,
)
from oba_pipeline.config import Home


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    return publish_with_benchmarks(tmp_path_factory.mktemp("progress") / "home")


@pytest.fixture(scope="module")
def page() -> Any:
    from conftest import TEST_SECRET

    from dashboards.app import create_app

    with pytest.MonkeyPatch.context() as patch:  # module-scoped: the autouse secret fixture has not run yet
        patch.setenv("OBA_SECRET_KEY", TEST_SECRET)
        create_app(Home(Path("/nonexistent")))  # a page module registers only once an app exists
    return importlib.import_module("dashboards.pages.progress_maps")


def text_of(component: Any) -> str:
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    children = getattr(component, "children", None)
    return text_of(children) if children is not None else ""


def test_data_layer_reads_benchmarks(home: Home) -> None:
    assert data.benchmark_home(home)["authority_name"] == "Islington"
    measures = data.benchmark_measures(home)
    assert measures.get_column("measure_id").to_list() == ["referral_rate_published", "rereferral_percent_published",
                                                           "nfa_percent_published"]
    series = data.benchmark_series(home, "referral_rate_published", "206")
    assert series.filter(year=2025)["value"].to_list() == [675.7]
    neighbours = data.benchmark_neighbour_values(home, "referral_rate_published", "206", 2025)
    assert neighbours.height == 10 and "206" not in neighbours["area_code"].to_list()
    assert data.benchmark_year(home, "referral_rate_published", 2025).height == 153


def test_build_views_for_islington(home: Home, page: Any) -> None:
    summary, trend, ranked, table, scatter, note, tiles = page.build_views(
        home, "referral_rate_published", "206", "rereferral_percent_published")
    words = text_of(summary)
    assert "Islington, 2024-25: 675.7 per 10,000." in words
    neighbours = data.benchmark_neighbour_values(home, "referral_rate_published", "206", 2025)
    median = statistics.median(neighbours["value"].to_list())
    assert f"neighbours' median {median:,.1f} per 10,000" in words
    assert "DfE statistical neighbour model 2025" in words and "of 153 authorities" in words
    names = [trace.name for trace in trend.data]
    assert names[:5] == ["England", "London", "Neighbours' mean", "Neighbours' median", "Islington"]
    assert names[5] == "Northtown (own extracts)"  # the linked local indicator, on the same chart
    assert ranked.data[0].marker.color.count(HOME_COLOUR) == 1 and len(ranked.data[0].y) == 11
    assert "Islington (home)" in text_of(table)
    assert "153 authorities with both figures" in note and "R²" in note
    assert [t.name for t in scatter.data][:2] == ["Authorities", "Line of best fit (least squares)"]
    tile_count = sum(len(t.x) for t in tiles.data if t.name.startswith("Quartile") or t.name == "No figure")
    assert tile_count == 153


def test_line_of_best_fit_is_ordinary_least_squares() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(5)
    xs = rng.uniform(0, 100, 40)
    ys = 3.0 + 0.5 * xs + rng.normal(0, 5, 40)
    intercept, slope, r_squared = line_of_best_fit(list(xs), list(ys))  # type: ignore[misc]
    model = sm.OLS(ys, sm.add_constant(xs)).fit()
    assert (intercept, slope) == pytest.approx(tuple(model.params))
    assert r_squared == pytest.approx(model.rsquared)
    assert line_of_best_fit([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert line_of_best_fit([1.0, 2.0], [1.0, 2.0]) is None


META = {"name": "Referrals per 10,000 children", "unit": "rate_per_10000", "unit_label": "per 10,000 children",
        "decimals": 1, "polarity": "lower_is_better"}


def test_trend_leaves_gaps_for_symbols() -> None:
    series = [{"period_label": "2023-24", "value": 500.0, "status": "ok", "england_value": 510.0},
              {"period_label": "2024-25", "value": None, "status": "c", "england_value": 520.0}]
    figure = trend_figure(series, META, "Home")
    home = next(t for t in figure.data if t.name == "Home")
    assert list(home.y) == [500.0, None] and home.connectgaps is False


def test_ranked_bar_orders_best_on_top_and_shows_missing_last() -> None:
    rows = [{"area_code": "1", "area_name": "A", "value": 300.0, "status": "ok", "rank": 2},
            {"area_code": "2", "area_name": "B", "value": 200.0, "status": "ok", "rank": 1},
            {"area_code": "3", "area_name": "C", "value": None, "status": "x", "rank": None}]
    bar = ranked_bar_figure(rows, META, "1", "2024-25").data[0]
    assert list(bar.y) == ["<b>A</b>", "B", "C"]  # drawn bottom-up: B (best) on top, C without a figure
    assert list(bar.text)[-1] == "x: no figure"


def test_tile_grid_groups_by_region_and_bands() -> None:
    rows = [{"area_code": str(i), "area_name": f"LA {i}", "region_name": "North" if i < 3 else "South",
             "value": float(i), "status": "ok", "rank": i, "quartile": min(4, i)} for i in range(1, 6)]
    figure: go.Figure = tile_grid_figure(rows, META, "2", "2024-25")
    bands = {t.name: list(zip(t.x, t.y, strict=True)) for t in figure.data}
    assert bands["Quartile 1 (best quarter)"] == [(0, "North")]
    assert bands["Quartile 4 (worst quarter)"] == [(1, "South"), (2, "South")]
    assert bands["LA 2"] == [(1, "North")]  # the home outline


def test_page_without_benchmarks_explains_what_to_do(tmp_path: Path, page: Any) -> None:
    home = publish_sample(tmp_path / "home")  # a snapshot from before benchmarks existed
    content = page.page_content(home)
    assert "No published statistics loaded" in text_of(content)
    assert "published/" in text_of(content)


def test_sources_and_findings_are_listed(home: Home, page: Any) -> None:
    sources = text_of(page.sources_table(data.benchmark_sources(home)))
    assert "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv" in sources
    assert "Statistical neighbours, 2025 model" in sources and "2013 to 2025" in sources
    findings = data.benchmark_findings(home, "rereferral_percent_published")
    assert "published_figure_differs" not in findings["kind"].to_list()
    assert "No data-quality findings" in text_of(page.findings_list(findings, "Re-referrals"))
    sample = pl.DataFrame({"kind": ["file_not_loaded"], "severity": ["error"], "message": ["x.csv: not recognised"]})
    assert "Error: x.csv: not recognised" in text_of(page.findings_list(sample, "Re-referrals"))
