"""Who may open the staff screen (issue 11, finding 5): the staff credential checked against its argon2id
hash (`kiosk.credentials`, in a thread: ~50 ms of CPU), under `kiosk.core.StaffGate`'s lockout.

The UI asks `Station.staff.unlock(...)` before it shows the staff screen; a station without a credential
never opens it (a technician sets one: `kiosk staff set-credential`). A wrong try is a log line without the
secret.
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
        self.kind = kind
        self._credential = credential
        self._clock = clock
        self.gate = StaffGate(has_credential=bool(credential))

    def locked_for(self) -> timedelta | None:
        """How long the staff screen stays shut (`timedelta.max`: no credential is set)."""
        return self.gate.locked_for(self._clock())

    async def unlock(self, *, passphrase: str = "", card: str = "", pin: str = "") -> bool:
        """True when the credential is right and the screen is not locked; every try counts."""
        if self.locked_for() is not None:
            return False
        secret = secret_of(self.kind, passphrase=passphrase, card=card, pin=pin)
        ok = await asyncio.to_thread(verify_credential, self._credential, secret)
        opened = self.gate.tried(ok, self._clock())
        if not ok:
            log.warning("staff screen: wrong credential (%d in a row)", self.gate.failures)
        return opened


__all__ = ["StaffAccess"]
