"""Engines and sessions for the application database."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from oba_pipeline.appdb.base import Base
from oba_pipeline.config import Home

# Modules that declare tables on Base. Each feature adds its module here so create_schema sees it.
MODEL_MODULES: list[str] = [
    "oba_pipeline.appdb.audit",
    "oba_pipeline.appdb.accounts",
    "oba_pipeline.appdb.turn_the_curve",
    "oba_pipeline.appdb.ttc_sessions",
]


def app_db_url(home: Home | None = None) -> str:
    """OBA_APP_DB_URL if set (e.g. postgresql+psycopg://oba@127.0.0.1:5432/oba), else SQLite under the home."""
    url = os.environ.get("OBA_APP_DB_URL", "").strip()
    if url:
        return url
    home = home or Home.from_env()
    path = home.root / "app" / "oba.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str | None = None, *, home: Home | None = None) -> Engine:
    """An engine for the application database; SQLite gets foreign keys, WAL and a busy timeout."""
    url = url or app_db_url(home)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_schema(engine: Engine) -> None:
    """Create every application table that does not exist yet (existing tables and rows are untouched)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    Base.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
