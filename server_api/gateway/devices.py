"""Kiosks as devices: one-time enrollment codes, device tokens, revocation, staff users and the audit log.

Rules:
- An enrollment code is `XXXXX-YYYYY-YYYYY-YYYYY` (Crockford base32, no 0/O/1/I confusion): the first group
  finds the row, the rest is the secret, stored as an argon2 hash. It works once, for one library and
  kiosk name, until it expires.
- A device token is `kgw1.<device id>.<secret>` (256 random bits), returned once by `POST /v1/enroll`; the
  gateway keeps an argon2 hash. A verified token is remembered in memory by its SHA-256 so that argon2
  runs once per token and process, not once per request; revocation is checked in the database on every
  request, so it takes effect at once in every process.
- A device belongs to exactly one library; every query a device makes is filtered by it.
- Every staff-side change (code made, device revoked, user added) is written to `audit_log`, with who did
  it; never a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, Row, bindparam, column, insert, select, table, update

from .schema import audit_log, devices, enrollment_codes, staff_users

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
TOKEN_PREFIX = "kgw1"
# Staff passwords are chosen by people: argon2's default cost (RFC 9106's second recommendation). Tokens and
# enrollment codes are 75-256 random bits, out of reach of guessing at any hash cost: a light argon2
# keeps enrollment and a process's first request per kiosk fast.
_hasher = PasswordHasher()
_secret_hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


class EnrollmentRefused(Exception):
    """The code is unknown, used, expired or mistyped; the message is safe to show."""


@dataclass(frozen=True)
class Device:
    id: str
    library: str
    name: str


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC everywhere


def _group(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def normalise_code(code: str) -> str:
    cleaned = code.strip().upper().replace(" ", "").replace("-", "")
    return cleaned.replace("O", "0").replace("I", "1").replace("L", "1")


def audit(engine: Engine, actor: str, action: str, library: str | None, target: str, **details: Any) -> None:
    with engine.begin() as db:
        db.execute(
            insert(audit_log).values(
                at=utcnow(), actor=actor, library=library, action=action, target=target, details=details
            )
        )


def create_enrollment_code(
    engine: Engine, library: str, kiosk_name: str, *, hours: int, actor: str
) -> tuple[str, datetime]:
    """A new one-time code for `kiosk_name` at `library`; returns the code (shown once) and its expiry."""
    lookup, secret = _group(5), _group(15)
    expires = utcnow() + timedelta(hours=hours)
    with engine.begin() as db:
        db.execute(
            insert(enrollment_codes).values(
                id=lookup,
                library=library,
                kiosk_name=kiosk_name,
                code_hash=_secret_hasher.hash(secret),
                created_by=actor,
                created_at=utcnow(),
                expires_at=expires,
            )
        )
    audit(engine, actor, "enrollment_code.create", library, kiosk_name, code_id=lookup, expires=str(expires))
    code = f"{lookup}-{secret[:5]}-{secret[5:10]}-{secret[10:]}"
    return code, expires


def enroll(engine: Engine, code: str) -> tuple[Device, str]:
    """Exchange a code for a new device and its token (the token is returned only here)."""
    cleaned = normalise_code(code)
    lookup, secret = cleaned[:5], cleaned[5:]
    with engine.begin() as db:
        row = db.execute(select(enrollment_codes).where(enrollment_codes.c.id == lookup)).first()
        if row is None or not _verify(row.code_hash, secret):
            raise EnrollmentRefused("this enrollment code is not valid: check it, or ask staff for a new one")
        if row.used_at is not None:
            raise EnrollmentRefused("this enrollment code was already used: ask staff for a new one")
        if row.expires_at < utcnow():
            raise EnrollmentRefused("this enrollment code has expired: ask staff for a new one")
        device = Device(str(uuid.uuid4()), row.library, row.kiosk_name)
        token_secret = secrets.token_urlsafe(32)
        claimed = db.execute(
            update(enrollment_codes)
            .where(enrollment_codes.c.id == lookup, enrollment_codes.c.used_at.is_(None))
            .values(used_at=utcnow(), device_id=device.id)
        )
        if claimed.rowcount != 1:  # another enrollment won the race for the same code
            raise EnrollmentRefused("this enrollment code was already used: ask staff for a new one")
        db.execute(
            insert(devices).values(
                id=device.id,
                library=device.library,
                name=device.name,
                token_hash=_secret_hasher.hash(token_secret),
                created_at=utcnow(),
            )
        )
    audit(engine, f"device:{device.id}", "device.enroll", device.library, device.name, code_id=lookup)
    return device, f"{TOKEN_PREFIX}.{device.id}.{token_secret}"


def _verify(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


class TokenCheck:
    """Bearer token -> `Device`, or None. Argon2 once per token and process; revocation every time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._verified: dict[str, str] = {}  # sha256(token) -> device id
        # Built once (on every request, building the statement cost more than running it).
        self._lookup = select(devices).where(devices.c.id == bindparam("device_id"))

    def device(self, token: str) -> Device | None:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 200:
            return None
        device_id, secret = parts[1], parts[2]
        with self.engine.connect() as db:
            row = db.execute(self._lookup, {"device_id": device_id}).first()
        if row is None or row.revoked_at is not None:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self._verified.get(digest) != device_id:
            if not _verify(row.token_hash, secret):
                return None
            self._verified[digest] = device_id
        return Device(row.id, row.library, row.name)


def revoke(engine: Engine, device_id: str, *, actor: str, libraries: frozenset[str] | None) -> bool:
    """Revoke a device of one of `libraries` (None: any library, for a consortium administrator)."""
    query = update(devices).where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
    if libraries is not None:
        query = query.where(devices.c.library.in_(sorted(libraries)))
    with engine.begin() as db:
        library = db.execute(select(devices.c.library).where(devices.c.id == device_id)).scalar()
        done = db.execute(query.values(revoked_at=utcnow())).rowcount == 1
    if done:
        audit(engine, actor, "device.revoke", library, device_id)
    return done


def list_devices(engine: Engine, libraries: frozenset[str] | None) -> list[dict[str, Any]]:
    """The devices of `libraries` (None: of every library)."""
    query = select(
        devices.c.id, devices.c.library, devices.c.name, devices.c.created_at, devices.c.revoked_at
    )
    if libraries is not None:
        query = query.where(devices.c.library.in_(sorted(libraries)))
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query.order_by(devices.c.library, devices.c.name))]


def add_user(
    engine: Engine, username: str, password: str, *, role: str, library: str | None, actor: str
) -> None:
    if role not in ("admin", "staff"):
        raise ValueError("role must be 'admin' or 'staff'")
    if len(password) < 12:
        raise ValueError("a staff password needs at least 12 characters")
    with engine.begin() as db:
        db.execute(
            insert(staff_users).values(
                username=username,
                library=library,
                role=role,
                password_hash=_hasher.hash(password),
                created_at=utcnow(),
                disabled=False,
            )
        )
    audit(engine, actor, "user.add", library, username, role=role)


# The console's extra libraries of an account (migration c001; staff_users.library is the first one).
_extra_libraries = table("console_staff_libraries", column("username"), column("library"))


@dataclass(frozen=True)
class StaffUser:
    username: str
    library: str | None  # the account's first library, as staff_users keeps it
    role: str
    libraries: frozenset[str] = frozenset()  # every library of the account: the first and the extra ones

    @property
    def every_library(self) -> bool:
        """A consortium administrator, or a technician named for no library in particular."""
        return self.role != "staff" and not self.libraries


def _staff_user(db: Connection, row: Row[Any]) -> StaffUser:
    extra = db.execute(select(_extra_libraries.c.library).where(_extra_libraries.c.username == row.username))
    libraries = frozenset({*(str(library) for (library,) in extra), *([row.library] if row.library else [])})
    return StaffUser(row.username, row.library, row.role, frozenset() if row.role == "admin" else libraries)


def check_staff(engine: Engine, username: str, password: str) -> StaffUser | None:
    with engine.connect() as db:
        row = db.execute(select(staff_users).where(staff_users.c.username == username)).first()
        if row is None or row.disabled or not _verify(row.password_hash, password):
            return None
        return _staff_user(db, row)


class StaffCheck:
    """User name and password -> `StaffUser`. A password verified with argon2 (hundreds of milliseconds
    by design) is remembered for `remember_seconds` as an HMAC under a key made at start (never written
    anywhere), so a staff page's several requests cost one argon2; the user row (disabled, library,
    role) is read every time."""

    def __init__(self, engine: Engine, remember_seconds: float = 60.0) -> None:
        self.engine = engine
        self.remember_seconds = remember_seconds
        self._verified: dict[str, float] = {}
        self._key = secrets.token_bytes(32)

    def user(self, username: str, password: str) -> StaffUser | None:
        digest = hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).hexdigest()
        seen = self._verified.get(digest)
        if seen is not None and time.monotonic() - seen < self.remember_seconds:
            with self.engine.connect() as db:
                row = db.execute(select(staff_users).where(staff_users.c.username == username)).first()
                if row is not None and not row.disabled:
                    return _staff_user(db, row)
        user = check_staff(self.engine, username, password)
        if user is None:
            self._verified.pop(digest, None)
        else:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = time.monotonic()
        return user


__all__ = [
    "Device",
    "EnrollmentRefused",
    "StaffCheck",
    "StaffUser",
    "TokenCheck",
    "add_user",
    "audit",
    "check_staff",
    "create_enrollment_code",
    "enroll",
    "list_devices",
    "revoke",
    "utcnow",
]
