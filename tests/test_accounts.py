"""Accounts and roles in the application database, and the `oba users` command."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from oba_pipeline import cli
from oba_pipeline.appdb import AuditEvent, make_engine, session_scope
from oba_pipeline.appdb.accounts import (
    Account,
    AccountError,
    add_account,
    change_role,
    list_accounts,
    remove_account,
    reset_password,
    verify_credentials,
)

PASSWORD = "a long enough passphrase"


def test_passwords_are_stored_only_as_argon2_hashes(app_engine: Any) -> None:
    with session_scope(app_engine) as session:
        add_account(session, "Alice", "commissioner", PASSWORD)
    with session_scope(app_engine) as session:
        stored = session.scalar(select(Account).where(Account.username == "alice"))
        assert stored is not None
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        assert verify_credentials(session, "alice", PASSWORD) is not None
        assert verify_credentials(session, "ALICE ", PASSWORD) is not None  # names are not case-sensitive
        assert verify_credentials(session, "alice", PASSWORD + "x") is None
        assert verify_credentials(session, "nobody", PASSWORD) is None


def test_roles_areas_and_changes(app_engine: Any) -> None:
    with session_scope(app_engine) as session:
        member = add_account(session, "bob", "partnership_member", PASSWORD, ("LOC-N", "LOC-S"))
        assert member.areas == ("LOC-N", "LOC-S")
        with pytest.raises(AccountError, match="needs at least one area"):
            add_account(session, "carol", "partnership_member", PASSWORD)
        with pytest.raises(AccountError, match="Unknown role"):
            add_account(session, "carol", "admin", PASSWORD)
        with pytest.raises(AccountError, match="too short"):
            add_account(session, "carol", "public", "short")
        with pytest.raises(AccountError, match="not allowed"):
            add_account(session, "<script>", "public", PASSWORD)
        with pytest.raises(AccountError, match="already exists"):
            add_account(session, "BOB", "public", PASSWORD)
        assert change_role(session, "bob", "commissioner").areas == ()
        reset_password(session, "bob", "another long passphrase")
    with session_scope(app_engine) as session:
        assert verify_credentials(session, "bob", PASSWORD) is None
        assert verify_credentials(session, "bob", "another long passphrase") is not None
        remove_account(session, "bob")
    with session_scope(app_engine) as session:
        assert list_accounts(session) == []
        with pytest.raises(AccountError, match="No account called"):
            remove_account(session, "bob")


def run_users(monkeypatch: pytest.MonkeyPatch, home: Path, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["--home", str(home), "users", *argv])


def test_oba_users_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    monkeypatch.delenv("OBA_APP_DB_URL", raising=False)
    assert run_users(monkeypatch, home, ["add", "dana", "--role", "partnership_member", "--area", "LOC-N",
                                         "--password-stdin"], PASSWORD + "\n") == 0
    assert run_users(monkeypatch, home, ["add", "erin", "--role", "data_team", "--password-stdin"], "") == 1
    assert "No password on standard input" in capsys.readouterr().err
    assert run_users(monkeypatch, home, ["list"]) == 0
    listing = capsys.readouterr().out
    assert "dana" in listing and "partnership_member" in listing and "LOC-N" in listing
    assert run_users(monkeypatch, home, ["role", "dana", "commissioner"]) == 0
    assert run_users(monkeypatch, home, ["reset-password", "dana", "--password-stdin"], "new long passphrase\n") == 0
    assert run_users(monkeypatch, home, ["remove", "dana"]) == 0
    assert run_users(monkeypatch, home, ["remove", "dana"]) == 1
    engine = make_engine(f"sqlite:///{home / 'app' / 'oba.sqlite'}")
    try:
        with session_scope(engine) as session:
            actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
            stored = session.scalars(select(Account)).all()
    finally:
        engine.dispose()
    assert actions == ["account_add", "account_role", "account_password_reset", "account_remove"]
    assert stored == []


def test_the_password_is_never_an_argument(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["users", "add", "frank", "--role", "public", "--password", "x"])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_exports_are_audited(tmp_path: Path) -> None:
    from dashboard_fixtures import publish_sample

    home = publish_sample(tmp_path / "home")
    assert cli.main(["--home", str(home.root), "export", "--format", "csv", str(tmp_path / "out")]) == 0
    engine = make_engine(f"sqlite:///{home.root / 'app' / 'oba.sqlite'}")
    try:
        with session_scope(engine) as session:
            [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    finally:
        engine.dispose()
    assert event.actor.startswith("cli:") and event.target == str((tmp_path / "out").resolve())
    assert event.detail["format"] == "csv" and "indicator_values.csv" in event.detail["files"]
