"""What the devices did, as observations: the security write, the printer, the reader, the pad's
unreadable tags, and the station's own faults (a bug, a journal that could not commit). See
`kiosk.station.observations` for how observations reach observers and become JSON."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.rfid.base import afi_hex
from kiosk.station.observations import Observation, Record


@dataclass(frozen=True)
class SecurityWrite(Observation):
    """One tag's AFI written and read back (or not), with the AFI before and after."""

    KIND, ACTION = "hardware", "write_afi"
    item_id: str
    uid: bytes
    afi_before: int | None
    afi_after: int
    verified: bool
    attempts: int
    error: str = ""

    def _fields(self) -> Record:
        return {
            "item_id": self.item_id,
            "uid": self.uid.hex(),
            "afi_before": afi_hex(self.afi_before) if self.afi_before is not None else None,
            "afi_after": afi_hex(self.afi_after),
            "verified": self.verified,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass(frozen=True)
class SecurityFailure(Observation):
    """An item's security bit could not be set: staff see which, and what the policy did."""

    KIND = "security_failure"
    item_id: str
    afi: int
    policy: str
    error: str

    def _fields(self) -> Record:
        return {"item_id": self.item_id, "afi": afi_hex(self.afi), "policy": self.policy, "error": self.error}


@dataclass(frozen=True)
class Printed(Observation):
    """A receipt or slip went to the printer: the files it made, or why it could not."""

    KIND, ACTION = "hardware", "print"
    receipt: str
    ok: bool
    error: str = ""
    files: tuple[str, ...] = ()

    def _fields(self) -> Record:
        if self.ok:
            return {"receipt": self.receipt, "ok": True, "files": list(self.files)}
        return {"receipt": self.receipt, "ok": False, "error": self.error}


@dataclass(frozen=True)
class PrinterHealth(Observation):
    """The printer's status changed (paper near end or out, cover open, an error, no answer, or ok
    again): what staff and the heartbeat need to know, told once per change."""

    KIND, ACTION = "hardware", "printer"
    status: str
    can_print: bool


@dataclass(frozen=True)
class StaffSlip(Observation):
    """A staff slip for a returned item: where it goes, and whether the slip names a hold patron."""

    KIND = "slip"
    item_id: str
    route: str
    destination: str
    names_hold_patron: bool


@dataclass(frozen=True)
class ReceiptEmailed(Observation):
    """A receipt the gateway was asked to e-mail: sent, or why not. Names no patron and no address."""

    KIND, ACTION = "receipt", "email"
    ok: bool
    error: str = ""

    def _fields(self) -> Record:
        return {"ok": self.ok} if self.ok else {"ok": False, "error": self.error}


@dataclass(frozen=True)
class SlipNotPrinted(Observation):
    """A staff slip the printer could not print: its routing goes to a staff task instead of the bin."""

    KIND = "slip_not_printed"
    item_id: str
    routing: str  # for staff only (it may name the hold patron): never in a transcript
    error: str

    def _fields(self) -> Record:
        return {"item_id": self.item_id, "error": self.error}


@dataclass(frozen=True)
class ReaderHealth(Observation):
    """The RFID reader stopped answering (`ok=False`) or answers again."""

    KIND, ACTION = "hardware", "reader"
    ok: bool
    error: str = ""

    def _fields(self) -> Record:
        return {"ok": self.ok, "error": self.error} if not self.ok else {"ok": True}


@dataclass(frozen=True)
class UnreadableTagSeen(Observation):
    """A tag on the pad that is no item and no card the station can read."""

    KIND, ACTION = "hardware", "unreadable_tag"
    uid: bytes
    problem: str


@dataclass(frozen=True)
class StationFault(Observation):
    """A bug: an unexpected error in a station task, turned into a failure the patron can act on."""

    KIND, ACTION = "hardware", "station"
    error: str
    ok: bool = False


@dataclass(frozen=True)
class JournalTrouble(Observation):
    """The journal could not commit an outcome now (it stays queued for the next commit)."""

    KIND, ACTION = "hardware", "journal"
    error: str
    ok: bool = False
