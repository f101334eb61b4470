"""The application database foundation: engine, schema creation and the audit trail."""

from sqlalchemy import select

from oba_pipeline.appdb import AuditEvent, app_db_url, create_schema, record_audit, session_scope
from oba_pipeline.config import Home


def test_default_url_is_sqlite_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("OBA_APP_DB_URL", raising=False)
    url = app_db_url(Home(tmp_path))
    assert url == f"sqlite:///{tmp_path / 'app' / 'oba.sqlite'}"


def test_env_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OBA_APP_DB_URL", "postgresql+psycopg://oba@127.0.0.1:5432/oba")
    assert app_db_url(Home(tmp_path)).startswith("postgresql+psycopg://")


def test_audit_round_trip_and_rollback(app_engine):
    engine = app_engine
    create_schema(engine)  # idempotent
    with session_scope(engine) as session:
        record_audit(session, "alice", "view", "LOC-N", page="scorecard")
    try:
        with session_scope(engine) as session:
            record_audit(session, "bob", "export", "indicators.csv")
            raise RuntimeError("export failed")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        events = session.scalars(select(AuditEvent)).all()
    assert [(e.actor, e.action, e.target, e.detail) for e in events] == [
        ("alice", "view", "LOC-N", {"page": "scorecard"})
    ]
    assert events[0].at is not None
