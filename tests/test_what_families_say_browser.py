"""The What families say page in headless Chromium, on the hand-made snapshot in family_voice_fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import browser_support
import pytest
from browser_support import open_page, serious_violations
from dashboard_fixtures import AUTHORITY, LOCALITIES
from family_voice_fixtures import publish_family_sample

from oba_pipeline.family_voice.registry import load_themes

pytestmark = browser_support.MARKS
expect = browser_support.playwright_api().expect

server_url = browser_support.server_fixture(lambda root: publish_family_sample(root / "home"), "family-voice")
browser = browser_support.browser_fixture()
THEMES = load_themes()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    with open_page(browser, server_url, "/what-families-say") as tab:
        expect(tab.locator("#what-families-status")).to_contain_text(f"Showing {AUTHORITY[1]}, 2024-25",
                                                                    timeout=30_000)
        yield tab


def choose_area(tab: Any, label: str) -> None:
    tab.get_by_role("button", name="Area").click()
    tab.get_by_role("radiogroup", name="Area").get_by_text(label, exact=True).click()


def theme_headings(tab: Any) -> Any:
    return tab.locator("article.oba-theme h3")


def test_every_theme_for_the_authority_and_each_locality(page: Any) -> None:
    for code, name in [AUTHORITY, *LOCALITIES]:
        if code != AUTHORITY[0]:
            choose_area(page, f"{name} (locality)")
        expect(page.locator("#what-families-status")).to_contain_text(f"Showing {name}, 2024-25: 6 themes")
        expect(theme_headings(page)).to_have_count(len(THEMES))
        for theme in THEMES.values():
            expect(page.get_by_role("heading", name=theme.name)).to_be_visible()


def test_the_familys_side_comes_first_on_every_theme(page: Any) -> None:
    cards = page.locator("article.oba-theme")
    expect(cards).to_have_count(len(THEMES))
    for index in range(len(THEMES)):
        sides = cards.nth(index).locator(".oba-voice > div")
        expect(sides.first).to_contain_text("What families say")
        expect(sides.nth(1)).to_contain_text("What services count")
    # Families' side sits on the left, where the eye meets it first.
    family_box = cards.first.locator(".oba-voice__family").bounding_box()
    service_box = cards.first.locator(".oba-voice__service").bounding_box()
    assert family_box["x"] < service_box["x"]
    expect(page.locator("#what-families-card-health_and_wellbeing")).to_contain_text(
        "No service measure claims this theme here yet")


def test_divergent_cases_come_first(page: Any) -> None:
    # Listed at the top of the page whichever area is chosen.
    divergent = page.locator("#what-families-divergent")
    expect(divergent).to_contain_text("2024-25, Northtown South: Safety.")
    expect(divergent).to_contain_text("Families worse while services improve")
    expect(divergent.locator("li")).to_have_count(1)
    # In Northtown South the safety theme moves to the top, with its label.
    choose_area(page, "Northtown South (locality)")
    expect(page.locator("#what-families-status")).to_contain_text("1 where families and services move")
    expect(theme_headings(page).first).to_contain_text("Safety")
    expect(theme_headings(page).first).to_contain_text("Families worse while services improve")
    safety = page.locator("#what-families-card-safety")
    expect(safety.locator(".oba-voice__family")).to_contain_text("10.0%")
    expect(safety.locator(".oba-voice__family")).to_contain_text("Worsening against its own baseline")
    expect(safety.get_by_role("row", name="Re-referrals within 12 months (%)")).to_contain_text(
        "Improving against its own baseline")
    # An earlier year had no disagreement (and, with one year before it, too little history to judge),
    # so the order falls back to the themes' own order.
    page.get_by_role("button", name="Reporting year").click()
    page.get_by_role("radiogroup", name="Reporting year").get_by_text("2022-23", exact=True).click()
    expect(page.locator("#what-families-status")).to_contain_text("Showing Northtown South, 2022-23: 6 themes, 0")
    expect(theme_headings(page).first).to_have_text("Safety Not known")
    expect(theme_headings(page).nth(1)).to_contain_text("Stability at home")


def test_rater_gaps_are_their_own_measure_and_small_groups_are_suppressed(page: Any) -> None:
    table = page.get_by_role("table", name=f"Rater gaps, {AUTHORITY[1]}, 2024-25")
    expect(table).to_contain_text("Parents against workers")
    expect(table).to_contain_text("11")
    choose_area(page, "Northtown South (locality)")
    table = page.get_by_role("table", name="Rater gaps, Northtown South, 2024-25")
    expect(table).to_contain_text("suppressed to protect confidentiality")
    choose_area(page, "Northtown North (locality)")
    expect(page.get_by_role("table", name="Rater gaps, Northtown North, 2024-25")).to_contain_text("+1.0")


def test_no_serious_accessibility_violations(page: Any) -> None:
    assert serious_violations(page) == []
    choose_area(page, "Northtown South (locality)")
    expect(page.locator("#what-families-status")).to_contain_text("Northtown South")
    page.get_by_text("How directions and agreement are judged").click()
    assert serious_violations(page) == []
