"""Who is at the station: the card (and PIN) checked with the library system, and the session there
ended when the patron leaves. The PIN goes to the library system and nowhere else."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from kiosk.core import Authenticate, CirculationFailed, Event, Operation, PatronLoaded
from kiosk.station.liveness import Liveness
from kiosk.station.observations import PatronLookup
from kiosk.station.tasks import Shell
from server_api.circulation import Circulation, CirculationError, Transaction


async def authenticate(
    shell: Shell, circulation: Circulation, liveness: Liveness, command: Authenticate
) -> None:
    txn = Transaction.new(shell.clock())
    try:
        account = await circulation.patron(command.card_id, command.pin, txn)
    except CirculationError as error:
        shell.observe(PatronLookup(ok=False, error=str(error)))
        liveness.note_failure()
        shell.feed(authentication_failure(shell)(str(error)))
        return
    liveness.note_success()
    shell.observe(PatronLookup(ok=account.found and account.pin_ok is not False))
    shell.feed(PatronLoaded(account, shell.clock()))


def authentication_failure(shell: Shell) -> Callable[[str], Event]:
    """The event for a card check that failed: as far as anyone knows, nothing was sent."""
    return lambda detail: CirculationFailed(Operation.PATRON, "", detail, shell.clock(), sent=False)


async def end_patron_session(circulation: Circulation, patron_id: str) -> None:
    """SIP2 35: the library system may close its side of the patron's session. Best effort."""
    with contextlib.suppress(CirculationError):
        await circulation.end_session(patron_id)


__all__ = ["authenticate", "authentication_failure", "end_patron_session"]
