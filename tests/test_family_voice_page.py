"""Unit tests of the What families say page builders and data access, on published snapshots (no browser)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from dashboard_fixtures import publish_sample
from family_voice_fixtures import DIVERGENT_AREA, publish_family_sample
from test_dashboard_units import text_of

from dashboards import data
from dashboards.app import create_app
from oba_pipeline.config import Home


@pytest.fixture()
def home(tmp_path: Path) -> Home:
    return publish_family_sample(tmp_path / "home")


@pytest.fixture()
def page(home: Home) -> ModuleType:
    create_app(home)  # Dash requires an app before a page module registers
    return importlib.import_module("dashboards.pages.what_families_say")


def test_page_lists_divergence_first_and_every_theme(page: ModuleType, home: Home) -> None:
    body = page.page_body(home, DIVERGENT_AREA[0], "2024-04-01")
    text = text_of(body)
    assert "Showing Northtown South, 2024-25: 6 themes, 1 where families and services move" in text
    assert text.index("Where families and services disagree") < text.index("Theme by theme")
    themes = data.family_themes(home)
    rows = data.family_vs_service(home, DIVERGENT_AREA[0])
    order = page.ordered_themes(rows.filter(rows["period_label"] == "2024-25"), themes)
    assert order[0] == "safety" and sorted(order) == sorted(themes.get_column("theme").to_list())
    assert page.ordered_themes(rows.filter(rows["period_label"] == "2022-23"), themes) == \
        themes.get_column("theme").to_list()


def test_a_snapshot_without_family_tables_shows_an_empty_state(tmp_path: Path) -> None:
    older = publish_sample(tmp_path / "older")  # published before the family tables existed
    create_app(older)
    module = importlib.import_module("dashboards.pages.what_families_say")
    assert "The published snapshot holds no family-reported outcomes" in text_of(module.page_content(older))
    assert data.family_vs_service(older, "NT-S").is_empty()
    empty = Home(tmp_path / "empty").ensure()
    assert "No figures have been published yet" in text_of(module.page_content(empty))
