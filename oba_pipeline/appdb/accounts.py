"""Dashboard accounts and roles: who may sign in, with which role, seeing which areas.

Passwords are stored only as Argon2id hashes (argon2-cffi); a hash made with weaker parameters than the
current defaults is replaced on the next successful sign-in.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from oba_pipeline.appdb.base import Base

ROLES = {
    "data_team": "Data team: every area and every page, including data quality and the audit trail",
    "commissioner": "Commissioner: every area, read only",
    "partnership_member": "Partnership member: their own areas; may edit turn-the-curve sessions for them",
    "public": "Public: the explicitly published subset, with stricter suppression",
}
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")
MIN_PASSWORD_LENGTH = 12

_HASHER = PasswordHasher()
# Verified against when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-for-timing")


class AccountError(ValueError):
    """An account request that cannot be carried out; the message says why and what to do."""


def _now() -> datetime:
    return datetime.now(UTC)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(40))
    areas: Mapped[list] = mapped_column(JSON, default=list)  # area codes; partnership members only
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True)
class AccountView:
    """An account as shown to people and passed around the dashboard (never the hash)."""

    id: int
    username: str
    role: str
    areas: tuple[str, ...]
    active: bool
    created_at: datetime


def _view(account: Account) -> AccountView:
    return AccountView(id=account.id, username=account.username, role=account.role,
                       areas=tuple(account.areas or ()), active=account.active, created_at=account.created_at)


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise AccountError(f"Username {username!r} is not allowed: use 2 to 80 lower-case letters, digits, '.', '_', "
                           "'-' or '@', starting with a letter or digit.")
    return name


def _check_role(role: str, areas: tuple[str, ...]) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if role == "partnership_member" and not areas:
        raise AccountError("A partnership member needs at least one area: give --area CODE (repeat for more).")
    if role != "partnership_member" and areas:
        raise AccountError(f"Only partnership members are limited to areas; a {role} sees "
                           f"{'the public subset' if role == 'public' else 'every area'}. Drop --area.")


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
                           "(a passphrase of several words is easiest to remember).")
    return _HASHER.hash(password)


def _get(session: Session, username: str) -> Account:
    account = session.scalar(select(Account).where(Account.username == username.strip().lower()))
    if account is None:
        raise AccountError(f"No account called {username!r}: `oba users list` shows the accounts.")
    return account


def add_account(session: Session, username: str, role: str, password: str,
                areas: tuple[str, ...] = ()) -> AccountView:
    name = _check_username(username)
    _check_role(role, areas)
    if session.scalar(select(Account.id).where(Account.username == name)) is not None:
        raise AccountError(f"An account called {name!r} already exists: use `oba users role` or "
                           "`oba users reset-password` to change it.")
    account = Account(username=name, role=role, areas=list(areas), password_hash=_hash(password))
    session.add(account)
    session.flush()
    return _view(account)


def list_accounts(session: Session) -> list[AccountView]:
    return [_view(a) for a in session.scalars(select(Account).order_by(Account.username))]


def get_account(session: Session, account_id: int) -> AccountView | None:
    account = session.get(Account, account_id)
    return _view(account) if account is not None and account.active else None


def find_account(session: Session, username: str) -> AccountView | None:
    """An active account by username (for sign-in through a trusted single sign-on proxy)."""
    account = session.scalar(select(Account).where(Account.username == username.strip().lower()))
    return _view(account) if account is not None and account.active else None


def change_role(session: Session, username: str, role: str, areas: tuple[str, ...] = ()) -> AccountView:
    _check_role(role, areas)
    account = _get(session, username)
    account.role = role
    account.areas = list(areas)
    return _view(account)


def reset_password(session: Session, username: str, password: str) -> AccountView:
    account = _get(session, username)
    account.password_hash = _hash(password)
    account.password_changed_at = _now()
    return _view(account)


def remove_account(session: Session, username: str) -> None:
    session.delete(_get(session, username))


def verify_credentials(session: Session, username: str, password: str) -> AccountView | None:
    """The account if the username and password match an active account, else None (same cost either way)."""
    account = session.scalar(select(Account).where(Account.username == username.strip().lower()))
    if account is None or not account.active:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_DUMMY_HASH, password)
        return None
    try:
        _HASHER.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = _HASHER.hash(password)
    return _view(account)
