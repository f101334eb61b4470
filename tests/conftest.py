"""Shared test set-up: every test gets a pseudonymisation key and nothing leaks into the repository."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

# Local webhook and SMTP receivers for the notification tests.
# and a real PostgreSQL server for the application-database tests.
pytest_plugins = ["receivers", "postgres_support"]

TEST_KEY = "test-only-key-0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OBA_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("OBA_PSEUDONYM_KEY_FILE", raising=False)
    return TEST_KEY


@pytest.fixture
def oba_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "oba-home"
    monkeypatch.setenv("OBA_HOME", str(home))
    yield home


@pytest.fixture(params=["sqlite", "postgresql"])
def app_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty application database with every table created. Tests of the application database use
    this fixture, so each runs against every supported backend: SQLite and a real PostgreSQL server."""
    from oba_pipeline.appdb import create_schema, make_engine

    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
    else:
        url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    engine = make_engine(url)
    create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


TEST_SECRET = "test-only-session-secret-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def session_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test may build the dashboard, which refuses to start without a session secret."""
    monkeypatch.setenv("OBA_SECRET_KEY", TEST_SECRET)
    return TEST_SECRET
