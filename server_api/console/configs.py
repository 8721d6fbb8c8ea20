"""Kiosk settings kept centrally: per library, with per-kiosk overrides, versioned.

Rules:
- A save validates the settings as the kiosk would end up with them (library settings and the kiosk's
  overrides together, `managed.validate`) and adds a version; nothing is ever overwritten. A roll-back is
  a new version with an old version's settings, so the history shows it.
- What a kiosk runs is named `L<library version>.K<kiosk version>` ("L3.K0": library version 3, no
  overrides), with `.C<digest>` when staff-screen credentials are set (a new credential is a new version
  for the kiosk to take); the kiosk reports the name it applied, so the fleet shows who runs what.
- Staff-screen credentials are argon2 hashes; the kiosk gets hashes only, and a central credential
  replaces one set on the kiosk with the same user name.
- Every change goes to the audit log with before → after.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, delete, func, insert, select

from server_api.gateway.devices import audit, utcnow

from . import managed
from .i18n import N_
from .tables import config_reports, config_versions, kiosk_credentials

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory: what the kiosk accepts (kiosk.credentials)
PASSPHRASE_MIN_LENGTH = 12  # the kiosk's own rule for a staff-screen passphrase (kiosk.credentials)


@dataclass(frozen=True)
class Version:
    id: int
    library: str
    device_id: str
    version: int
    settings: dict[str, Any]
    author: str
    created_at: datetime
    note: str


def _latest(db: Connection, library: str, device_id: str) -> Version | None:
    row = db.execute(
        select(config_versions)
        .where(config_versions.c.library == library, config_versions.c.device_id == device_id)
        .order_by(config_versions.c.version.desc())
        .limit(1)
    ).first()
    return None if row is None else Version(**row._mapping)


def current(engine: Engine, library: str, device_id: str = "") -> Version | None:
    with engine.connect() as db:
        return _latest(db, library, device_id)


def history(engine: Engine, library: str, device_id: str = "") -> list[Version]:
    query = (
        select(config_versions)
        .where(config_versions.c.library == library, config_versions.c.device_id == device_id)
        .order_by(config_versions.c.version.desc())
    )
    with engine.connect() as db:
        return [Version(**row._mapping) for row in db.execute(query)]


def effective(engine: Engine, library: str, device_id: str) -> tuple[str, dict[str, Any]]:
    """The name of what `device_id` should run and its settings (library's, then the kiosk's)."""
    with engine.connect() as db:
        base, own = _latest(db, library, ""), _latest(db, library, device_id)
    settings = {**(base.settings if base else {}), **(own.settings if own else {})}
    name = f"L{base.version if base else 0}.K{own.version if own else 0}"
    hashes = sorted(c["password_hash"] for c in credentials_for(engine, library, device_id))
    if hashes:
        name += ".C" + hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:6]
    return name, settings


def _affected_kiosks(engine: Engine, library: str, device_id: str) -> list[str]:
    if device_id:
        return [device_id]
    with engine.connect() as db:
        return list(
            db.execute(
                select(config_versions.c.device_id)
                .where(config_versions.c.library == library, config_versions.c.device_id != "")
                .distinct()
            ).scalars()
        )


def save(
    engine: Engine, library: str, device_id: str, settings: dict[str, Any], *, author: str, note: str = ""
) -> Version:
    """A new version of the library's settings (device_id "") or of a kiosk's overrides."""
    managed.validate(settings)
    with engine.connect() as db:
        base = _latest(db, library, "")
    for kiosk in _affected_kiosks(engine, library, device_id):  # every kiosk must still accept its mix
        with engine.connect() as db:
            own = _latest(db, library, kiosk)
        library_part = settings if not device_id else (base.settings if base else {})
        kiosk_part = settings if device_id else (own.settings if own else {})
        managed.validate({**library_part, **kiosk_part})
    with engine.begin() as db:
        before = _latest(db, library, device_id)
        number = int(
            db.execute(
                select(func.coalesce(func.max(config_versions.c.version), 0)).where(
                    config_versions.c.library == library, config_versions.c.device_id == device_id
                )
            ).scalar_one()
        )
        values = dict(
            library=library,
            device_id=device_id,
            version=number + 1,
            settings=settings,
            author=author,
            created_at=utcnow(),
            note=note[:200],
        )
        new_id = db.execute(insert(config_versions).values(**values)).inserted_primary_key[0]  # type: ignore[index]
    audit(
        engine,
        author,
        "console.config.save",
        library,
        device_id or f"library {library}",
        version=number + 1,
        before=before.settings if before else {},
        after=settings,
    )
    return Version(id=int(new_id), **values)  # type: ignore[arg-type]


def rollback(engine: Engine, library: str, version_id: int, *, author: str) -> Version | None:
    """A new version with the settings of `version_id` (which must be `library`'s)."""
    with engine.connect() as db:
        row = db.execute(
            select(config_versions).where(
                config_versions.c.id == version_id, config_versions.c.library == library
            )
        ).first()
    if row is None:
        return None
    return save(
        engine, library, row.device_id, dict(row.settings), author=author, note=f"roll-back to {row.version}"
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old, new) for every key that differs; None where a key is not set."""
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def report(engine: Engine, device_id: str, library: str, version: str, error: str) -> None:
    with engine.begin() as db:
        db.execute(delete(config_reports).where(config_reports.c.device_id == device_id))
        db.execute(
            insert(config_reports).values(
                device_id=device_id,
                library=library,
                version=version[:64],
                reported_at=utcnow(),
                error=error[:500],
            )
        )


def set_credential(
    engine: Engine, library: str, device_id: str, username: str, password: str, *, actor: str
) -> None:
    """The staff-screen login `username` for one kiosk or (device_id "") every kiosk of `library`."""
    if not username.strip() or len(username) > 100:
        raise ValueError(N_("A user name is 1 to 100 characters."))
    if len(password) < PASSPHRASE_MIN_LENGTH:
        raise ValueError(N_("A staff-screen passphrase needs at least 12 characters (a few words are best)."))
    with engine.begin() as db:
        key = (
            kiosk_credentials.c.library == library,
            kiosk_credentials.c.device_id == device_id,
            kiosk_credentials.c.username == username,
        )
        existed = db.execute(select(kiosk_credentials.c.username).where(*key)).first() is not None
        db.execute(delete(kiosk_credentials).where(*key))
        db.execute(
            insert(kiosk_credentials).values(
                library=library,
                device_id=device_id,
                username=username,
                password_hash=_hasher.hash(password),
                set_by=actor,
                set_at=utcnow(),
            )
        )
    audit(
        engine,
        actor,
        "console.kiosk_credential.set",
        library,
        device_id or f"library {library}",
        username=username,
        before="set" if existed else "none",
        after="set",
    )


def credentials_for(engine: Engine, library: str, device_id: str) -> list[dict[str, str]]:
    """The hashes a kiosk gets: the library's, with the kiosk's own overriding the same user name."""
    query = select(kiosk_credentials).where(
        kiosk_credentials.c.library == library, kiosk_credentials.c.device_id.in_(("", device_id))
    )
    chosen: dict[str, dict[str, str]] = {}
    with engine.connect() as db:
        for row in db.execute(query.order_by(kiosk_credentials.c.device_id)):
            chosen[row.username] = {"username": row.username, "password_hash": row.password_hash}
    return list(chosen.values())


__all__ = [
    "Version",
    "credentials_for",
    "current",
    "diff",
    "effective",
    "history",
    "report",
    "rollback",
    "save",
    "set_credential",
]
