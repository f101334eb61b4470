"""Real-browser tests of the dashboard: a server started as users start it, driven in headless Chromium.

The server runs `python -m dashboards` on a small published snapshot (tests/dashboard_fixtures.py).
Tests wait for text to appear rather than sleeping, fail on any browser console error, and run the
axe-core accessibility rules in the page.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_fixtures import INDICATORS, publish_sample

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_SECONDS = 60

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not installed at {CHROMIUM} "
                       "(apt-get install chromium); browser tests need it"),
]

# Imported after the skip marker so a machine without the browser packages still collects the module.
playwright_sync = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
expect = playwright_sync.expect


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answering(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll the server until it answers; fail with its log if it exits or never answers."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dashboard server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)  # polling a server that is still starting, not waiting on the page
    pytest.fail(f"dashboard server did not answer {url} within {SERVER_START_SECONDS}s:\n"
                f"{log_path.read_text()}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dashboard server over the sample snapshot, started and stopped by its process group id."""
    root = tmp_path_factory.mktemp("dashboard-browser")
    home = publish_sample(root / "home")
    port = free_port()
    log_path = root / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboards", "--home", str(home.root), "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_answering(url, process, log_path)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        # A non-persistent launch gets a fresh, throw-away profile of its own.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    """A fresh page on the scorecard; after the test, the console must hold no errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("request", lambda request: foreign.append(request.url)
           if not request.url.startswith(server_url) and not request.url.startswith("data:") else None)
    tab.goto(server_url)
    expect(tab.locator("#scorecard-status")).to_contain_text("Showing Northtown", timeout=30_000)
    try:
        yield tab
        assert problems == [], f"browser console errors: {problems}"
        assert foreign == [], f"requests left the machine: {foreign}"
    finally:
        context.close()


def serious_violations(tab: Any) -> list[str]:
    results = axe_module.Axe().run(tab)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def choose_area(tab: Any, label: str) -> None:
    tab.get_by_role("button", name="Area").click()
    tab.get_by_role("radiogroup", name="Area").get_by_text(label, exact=True).click()


def row_of(tab: Any, measure: str) -> Any:
    return tab.locator("tr", has=tab.get_by_role("button", name=measure, exact=True))


def test_scorecard_lists_every_measure_with_freshness_and_licence(page: Any) -> None:
    for entry in INDICATORS:
        expect(page.get_by_role("button", name=entry["name"], exact=True)).to_be_visible()
    expect(page.locator("#scorecard-freshness")).to_contain_text("30 April 2025")
    expect(page.locator("#scorecard-freshness")).to_contain_text("Published")
    expect(page.get_by_role("heading", name="Children are safe at home")).to_be_visible()
    expect(page.get_by_role("table", name="Front door: How well did we do it?")).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_contain_text(
        "Contains public sector information licensed under the Open Government Licence v3.0.")
    expect(row_of(page, "Referrals per 10,000 children")).to_contain_text("Down: better, 2 months in a row")


def test_switching_to_a_locality_changes_the_figures(page: Any) -> None:
    rate_row = row_of(page, "Referrals per 10,000 children")
    expect(rate_row).to_contain_text("38.2 per 10,000")
    choose_area(page, "Northtown North (locality)")
    expect(page.locator("#scorecard-status")).to_contain_text("Showing Northtown North")
    expect(rate_row).to_contain_text("49.9 per 10,000")
    expect(rate_row).not_to_contain_text("38.2 per 10,000")
    suppressed = row_of(page, "Assessments completed within 45 working days")
    expect(suppressed).to_contain_text("suppressed to protect confidentiality")
    page.get_by_text("Reporting year (April to March)", exact=True).click()
    expect(page.locator("#scorecard-status")).to_contain_text("reporting year")
    expect(rate_row).to_contain_text("590.0 per 10,000")


def test_a_measure_opens_its_history_chart_and_table(page: Any) -> None:
    page.get_by_role("button", name="Assessments completed within 45 working days", exact=True).click()
    heading = page.locator("#scorecard-detail-heading")
    expect(heading).to_have_text("Assessments completed within 45 working days")
    expect(heading).to_be_focused()
    expect(page.locator("#scorecard-history-chart .main-svg").first).to_be_visible()
    table = page.get_by_role("table", name="Figures behind the chart: "
                                           "Assessments completed within 45 working days")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("85.0%")
    expect(page.locator("#scorecard-detail-about")).to_contain_text("Higher is better")
    # The history follows the area: a locality with a suppressed month shows 'c' in the table.
    choose_area(page, "Northtown South (locality)")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("c")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("confidentiality")


def test_measures_open_from_the_keyboard(page: Any) -> None:
    page.get_by_role("button", name="Referrals received", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#scorecard-detail-heading")).to_have_text("Referrals received")
    expect(page.locator("#scorecard-detail-about")).to_contain_text("Neither higher nor lower is better")


def test_no_serious_accessibility_violations(page: Any, tmp_path: Path) -> None:
    assert serious_violations(page) == []
    page.get_by_role("button", name="Referrals per 10,000 children", exact=True).click()
    expect(page.locator("#scorecard-history-table")).to_be_visible()
    assert serious_violations(page) == []
    # With the area list open too: its pop-up is checked in the state a keyboard user meets it.
    page.get_by_role("button", name="Area").click()
    expect(page.get_by_role("radiogroup", name="Area")).to_be_visible()
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    page.screenshot(path=str(tmp_path / "scorecard.png"), full_page=True)
