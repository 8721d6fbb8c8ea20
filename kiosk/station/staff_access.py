"""Who may open the staff screen (issue 11, finding 5): the staff credential checked against its argon2id
hash (`kiosk.credentials`, in a thread: ~50 ms of CPU), under `kiosk.core.StaffGate`'s lockout.

The UI asks `Station.staff.unlock(...)` before it shows the staff screen; a station without a credential
never opens it (a technician sets one: `kiosk staff set-credential`). A wrong try is a log line without the
secret.

Credentials set centrally in the staff console (issue 13; argon2id hashes only, passphrases) override the
local one: while the console names any, only they open the staff screen (`use_central`, called by
`kiosk.station.console_link` between patron sessions and at start from the kept version); with none, the
local one counts again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.core import StaffGate
from kiosk.credentials import CredentialKind, secret_of, verify_credential

log = logging.getLogger(__name__)


class StaffAccess:
    def __init__(self, credential: str, kind: CredentialKind, clock: Callable[[], datetime]) -> None:
        self.kind = self._local_kind = kind
        self._credential = credential
        self._central: tuple[str, ...] = ()
        self._clock = clock
        self.gate = StaffGate(has_credential=bool(credential))

    @property
    def central(self) -> bool:
        """Whether the console's credentials are the ones in force."""
        return bool(self._central)

    def use_central(self, hashes: tuple[str, ...]) -> None:
        """The console's credentials (argon2id hashes of passphrases) replace the local one; ()
        restores it."""
        self._central = tuple(h for h in hashes if h)
        self.kind = CredentialKind.PASSPHRASE if self._central else self._local_kind
        self.gate.has_credential = bool(self._central or self._credential)

    def _matches(self, secret: str) -> bool:
        return any(verify_credential(stored, secret) for stored in self._central or (self._credential,))

    def locked_for(self) -> timedelta | None:
        """How long the staff screen stays shut (`timedelta.max`: no credential is set)."""
        return self.gate.locked_for(self._clock())

    async def unlock(self, *, passphrase: str = "", card: str = "", pin: str = "") -> bool:
        """True when the credential is right and the screen is not locked; every try counts."""
        if self.locked_for() is not None:
            return False
        secret = secret_of(self.kind, passphrase=passphrase, card=card, pin=pin)
        ok = await asyncio.to_thread(self._matches, secret)
        opened = self.gate.tried(ok, self._clock())
        if not ok:
            log.warning("staff screen: wrong credential (%d in a row)", self.gate.failures)
        return opened


__all__ = ["StaffAccess"]
