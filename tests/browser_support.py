"""What every real-browser test of the dashboard shares: a server started as users start it, headless
Chromium from Debian, pages that fail on console errors or requests leaving the machine, and axe-core.

Use it from a test module like this:

    pytestmark = browser_support.MARKS
    server = browser_support.server_fixture(lambda root: publish_sample(root / "home"))
    browser = browser_support.browser_fixture()

    def test_x(browser, server):
        with browser_support.open_page(browser, server, "/some-page") as tab: ...

The dashboard requires sign-in: `dashboard_server` creates one test account per role in the home
(dashboard_fixtures.TEST_ACCOUNTS) and `open_page` signs in as the data team first, unless told to sign
in as another account (`user="member-north"`) or not at all (`user=None`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from oba_pipeline.config import Home

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_SECONDS = 60
TEST_SECRET = "browser-test-session-secret-0123456789abcdef0123"

MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Chromium not installed at {CHROMIUM} "
                       "(apt-get install chromium); browser tests need it"),
]


# Assertions wait for text; on a shared 2-core machine a callback chain can take longer than
# Playwright's default 5 s, so waiting is allowed up to 15 s (a pass is still as fast as the page).
EXPECT_TIMEOUT_MS = 15_000


def playwright_api() -> Any:
    api = pytest.importorskip("playwright.sync_api")
    api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return api


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
            # The sign-in page answers without an account once the server is up.
            with urllib.request.urlopen(url.rstrip("/") + "/sign-in", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)  # polling a server that is still starting, not waiting on the page
    pytest.fail(f"dashboard server did not answer {url} within {SERVER_START_SECONDS}s:\n"
                f"{log_path.read_text()}")


@contextmanager
def dashboard_server(home: Home, log_path: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m dashboards` over a home, started in its own process group and stopped by its id."""
    from dashboard_fixtures import create_accounts

    create_accounts(home)
    port = free_port()
    env = {"OBA_SECRET_KEY": TEST_SECRET, **os.environ, **(extra_env or {})}
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboards", "--home", str(home.root), "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, env=env,
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


def server_fixture(make_home: Callable[[Path], Home], name: str = "dashboard-browser") -> Any:
    """A module-scoped fixture yielding the base URL of a dashboard over the home `make_home` builds."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        root = tmp_path_factory.mktemp(name)
        home = make_home(root)
        with dashboard_server(home, root / "server.log") as url:
            yield url

    return server


def browser_fixture() -> Any:
    """A module-scoped headless Chromium (a fresh throw-away profile per launch)."""

    @pytest.fixture(scope="module")
    def browser() -> Iterator[Any]:
        with playwright_api().sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()

    return browser


def sign_in(tab: Any, server_url: str, user: str) -> None:
    """Sign in through the sign-in page as a person would: labelled fields, then the button."""
    from dashboard_fixtures import TEST_PASSWORD

    tab.goto(server_url.rstrip("/") + "/sign-in")
    tab.get_by_label("Username").fill(user)
    tab.get_by_label("Password").fill(TEST_PASSWORD)
    with tab.expect_navigation():
        tab.get_by_role("button", name="Sign in").click()
    if "/sign-in" in tab.url:
        raise AssertionError(f"signing in as {user} failed: {tab.content()[:500]}")


@contextmanager
def open_page(browser: Any, server_url: str, path: str = "/", user: str | None = "data-team") -> Iterator[Any]:
    """A fresh page at `path`, signed in as `user` first (None: not signed in); when the block ends, the
    console must hold no errors and no request may have left the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    tab.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    # data: URLs and this server's own blob: URLs (a chart saved as PNG) stay in the browser.
    local = (server_url, "data:", f"blob:{server_url.rstrip('/')}/")
    tab.on("request", lambda request: foreign.append(request.url)
           if not request.url.startswith(local) else None)
    try:
        if user is not None:
            sign_in(tab, server_url, user)
        tab.goto(server_url.rstrip("/") + path)
        yield tab
        assert problems == [], f"browser console errors: {problems}"
        assert foreign == [], f"requests left the machine: {foreign}"
    finally:
        context.close()


# axe-core comes from npm, at this exact version, into a folder the repository ignores (.axe-core/), the first
# time a browser test asks for it; later runs reuse it offline. Chosen over vendoring axe.min.js because the
# test machines have npm and the registry: the repository carries no half-megabyte minified third-party file
# (and its MPL-2.0 notice), and moving to a newer rule set is a one-line change here. The copy bundled in
# axe-playwright-python (which injects the script and runs it) lags behind and is used only if npm cannot run.
AXE_CORE_VERSION = "4.14.1"
AXE_DIR = REPO_ROOT / ".axe-core"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@functools.cache
def axe_script_path() -> Path:
    """axe-core's axe.min.js at AXE_CORE_VERSION, installed from npm into .axe-core/ if not there yet."""
    package = AXE_DIR / "node_modules" / "axe-core"
    installed = package / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == AXE_CORE_VERSION:
        return package / "axe.min.js"
    npm = shutil.which("npm")
    if npm is not None:
        AXE_DIR.mkdir(exist_ok=True)
        done = subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--no-save",
                               f"axe-core@{AXE_CORE_VERSION}"], capture_output=True, text=True, timeout=300)
        if done.returncode == 0 and installed.exists():
            return package / "axe.min.js"
        warnings.warn(f"npm could not install axe-core {AXE_CORE_VERSION}: {done.stderr[-500:]}", stacklevel=2)
    else:
        warnings.warn("npm is not installed: using the axe-core bundled with axe-playwright-python", stacklevel=2)
    bundled = pytest.importorskip("axe_playwright_python.base")
    return Path(bundled.AXE_FILE_PATH)


def serious_violations(tab: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands (WCAG 2.2 A and AA, best practice)."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe.from_file(axe_script_path()).run(
        tab, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def axe_version(tab: Any) -> str:
    """The axe-core version injected into the page (after serious_violations has run there)."""
    return str(tab.evaluate("window.axe && window.axe.version"))
