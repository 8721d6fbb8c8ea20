"""Staff accounts, sign-in and sessions of the console.

Rules:
- Three roles: `admin` (the consortium's administrator: every library), `staff` (one or more libraries)
  and `technician` (one or more libraries, or every library when none is given). Accounts are the gateway's
  `staff_users` rows; extra libraries live in `console_staff_libraries`.
- Passwords are argon2 hashes (the gateway's hasher). After `LOCK_AFTER` wrong passwords within
  `LOCK_WINDOW` the account is locked for `LOCK_FOR`, known user or not, and the answer is the same either
  way (no user list by guessing).
- A session is a random cookie; the database keeps only its SHA-256, the person, a CSRF token and when it
  was last used. Idle longer than `idle_minutes`, or older than `MAX_AGE`, it is gone.
- Every change (account added, sign-in locked) goes to the gateway's audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Row, delete, insert, select, update

from server_api.gateway.devices import audit, utcnow
from server_api.gateway.schema import staff_users

from .i18n import N_
from .tables import login_failures, sessions, staff_libraries

ROLES = ("admin", "staff", "technician")
LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
MAX_AGE = timedelta(hours=12)
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class Viewer:
    """A signed-in person: who, which role, which libraries (None: every library)."""

    username: str
    role: str
    libraries: frozenset[str] | None
    csrf: str = ""

    def sees(self, library: str) -> bool:
        return self.libraries is None or library in self.libraries

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


PERMISSIONS: dict[str, tuple[str, ...]] = {
    "fleet": ROLES,
    "configure": ("admin", "staff", "technician"),
    "credentials": ("admin", "staff"),
    "technician": ("admin", "technician"),
    "tasks": ("admin", "staff"),
    "statistics": ("admin", "staff"),
    "accounts": ("admin",),
    "audit": ("admin",),
}


class AccountError(ValueError):
    """The account cannot be made as asked; the message says why."""


class SignInRefused(Exception):
    """Wrong user name or password, or locked; the message is safe to show."""


def add_account(
    engine: Engine, username: str, password: str, *, role: str, libraries: list[str], actor: str
) -> None:
    """A new account; staff need at least one library, an administrator none."""
    if role not in ROLES:
        raise AccountError(N_("Choose a role: administrator, staff or technician."))
    if len(password) < 12:
        raise AccountError(N_("A staff password needs at least 12 characters."))
    if not username.strip() or len(username) > 100:
        raise AccountError(N_("A user name is 1 to 100 characters."))
    if role == "staff" and not libraries:
        raise AccountError(N_("Library staff need at least one library."))
    first = None if role == "admin" or not libraries else libraries[0]
    with engine.begin() as db:
        if db.execute(select(staff_users.c.username).where(staff_users.c.username == username)).first():
            raise AccountError(N_("There is already an account with this user name."))
        db.execute(
            insert(staff_users).values(
                username=username,
                library=first,
                role=role,
                password_hash=_hasher.hash(password),
                created_at=utcnow(),
                disabled=False,
            )
        )
        for library in [] if role == "admin" else libraries[1:]:
            db.execute(insert(staff_libraries).values(username=username, library=library))
    audit(engine, actor, "console.account.add", first, username, after={"role": role, "libraries": libraries})


def set_disabled(engine: Engine, username: str, disabled: bool, *, actor: str) -> bool:
    """Disable (or enable again) an account; a disabled one's sessions stop at their next request."""
    with engine.begin() as db:
        row = db.execute(select(staff_users.c.disabled).where(staff_users.c.username == username)).first()
        if row is None:
            return False
        db.execute(update(staff_users).where(staff_users.c.username == username).values(disabled=disabled))
        if disabled:
            db.execute(delete(sessions).where(sessions.c.username == username))
    audit(engine, actor, "console.account.disable" if disabled else "console.account.enable", None, username,
          before={"disabled": bool(row.disabled)}, after={"disabled": disabled})  # fmt: skip
    return True


def set_password(engine: Engine, username: str, password: str, *, actor: str) -> bool:
    """A new password (the old sessions end, the lockout is lifted); never logged."""
    if len(password) < 12:
        raise AccountError(N_("A staff password needs at least 12 characters."))
    with engine.begin() as db:
        done = db.execute(
            update(staff_users)
            .where(staff_users.c.username == username)
            .values(password_hash=_hasher.hash(password))
        )
        if not done.rowcount:
            return False
        db.execute(delete(sessions).where(sessions.c.username == username))
        db.execute(delete(login_failures).where(login_failures.c.username == username))
    audit(engine, actor, "console.account.password", None, username, before="set", after="new password")
    return True


def viewer_of(engine: Engine, username: str, csrf: str = "", *, disabled_too: bool = False) -> Viewer | None:
    """The account as a `Viewer` (None if unknown, or disabled unless `disabled_too`)."""
    with engine.connect() as db:
        row = db.execute(select(staff_users).where(staff_users.c.username == username)).first()
        if row is None or (row.disabled and not disabled_too):
            return None
        extra = db.execute(
            select(staff_libraries.c.library).where(staff_libraries.c.username == username)
        ).scalars()
        libraries = {row.library, *extra} - {None}
    if row.role == "admin" or (row.role == "technician" and not libraries):
        return Viewer(row.username, row.role, None, csrf)
    return Viewer(row.username, row.role, frozenset(str(lib) for lib in libraries), csrf)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def sign_in(engine: Engine, username: str, password: str) -> Viewer:
    """The person, if the password is right and the account not locked; else `SignInRefused`."""
    now = utcnow()
    with engine.connect() as db:
        row = db.execute(select(staff_users).where(staff_users.c.username == username)).first()
        failure = db.execute(select(login_failures).where(login_failures.c.username == username)).first()
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        _verify(_DUMMY_HASH, password)  # the same time as a real check
        raise SignInRefused("locked")
    good = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    if row is None or row.disabled or not good:
        _count_failure(engine, username, now, failure)
        raise SignInRefused("wrong")
    with engine.begin() as db:
        db.execute(delete(login_failures).where(login_failures.c.username == username))
    viewer = viewer_of(engine, username)
    if viewer is None:
        raise SignInRefused("wrong")
    return viewer


def _count_failure(engine: Engine, username: str, now: datetime, failure: Row[Any] | None) -> None:
    username = username[:100]
    with engine.begin() as db:
        if failure is None or failure.first_at < now - LOCK_WINDOW:
            db.execute(delete(login_failures).where(login_failures.c.username == username))
            db.execute(insert(login_failures).values(username=username, failures=1, first_at=now))
            return
        failures = int(failure.failures) + 1
        locked = now + LOCK_FOR if failures >= LOCK_AFTER else None
        db.execute(
            update(login_failures)
            .where(login_failures.c.username == username)
            .values(failures=failures, locked_until=locked)
        )
    if locked is not None:
        audit(engine, "console", "console.signin.locked", None, username, failures=failures)


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def open_session(engine: Engine, viewer: Viewer) -> str:
    """A new session for `viewer`; returns the cookie's value (never stored)."""
    cookie, now = secrets.token_urlsafe(32), utcnow()
    with engine.begin() as db:
        db.execute(
            insert(sessions).values(
                id_hash=_digest(cookie),
                username=viewer.username,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                seen_at=now,
            )
        )
    return cookie


def session_viewer(engine: Engine, cookie: str, idle_minutes: float) -> Viewer | None:
    """The person behind a session cookie, if the session is alive; marks it used."""
    if not cookie or len(cookie) > 100:
        return None
    now, digest = utcnow(), _digest(cookie)
    with engine.begin() as db:
        row = db.execute(select(sessions).where(sessions.c.id_hash == digest)).first()
        if row is None:
            return None
        if row.seen_at < now - timedelta(minutes=idle_minutes) or row.created_at < now - MAX_AGE:
            db.execute(delete(sessions).where(sessions.c.id_hash == digest))
            return None
        db.execute(update(sessions).where(sessions.c.id_hash == digest).values(seen_at=now))
    return viewer_of(engine, row.username, row.csrf)


def close_session(engine: Engine, cookie: str) -> None:
    with engine.begin() as db:
        db.execute(delete(sessions).where(sessions.c.id_hash == _digest(cookie)))


def expire_sessions(engine: Engine, idle_minutes: float) -> int:
    """Forget sessions idle longer than the limit or older than `MAX_AGE` (they could not be used anyway)."""
    now = utcnow()
    with engine.begin() as db:
        gone = db.execute(
            delete(sessions).where(
                (sessions.c.seen_at < now - timedelta(minutes=idle_minutes))
                | (sessions.c.created_at < now - MAX_AGE)
            )
        )
    return int(gone.rowcount)


def csrf_ok(viewer: Viewer, token: str) -> bool:
    return bool(viewer.csrf) and secrets.compare_digest(viewer.csrf.encode(), token.encode())


__all__ = [
    "PERMISSIONS",
    "ROLES",
    "AccountError",
    "SignInRefused",
    "Viewer",
    "add_account",
    "close_session",
    "csrf_ok",
    "expire_sessions",
    "open_session",
    "session_viewer",
    "set_disabled",
    "set_password",
    "sign_in",
    "viewer_of",
]
