"""Real-time printer status (ESC/POS ``DLE EOT n``) as a sans-IO codec.

The host sends ``DLE EOT n`` (``10 04 n``); the printer answers one status byte at once, even while it is
offline, out of paper or its receive buffer is full. Four queries tell everything a kiosk acts on:

====  ===================  ===================================================================
 n    what                 bits (bit 1 and bit 4 are fixed on, bit 0 and bit 7 fixed off)
====  ===================  ===================================================================
 1    printer status       bit 2 drawer pin 3 high, bit 3 **offline**, bit 5 waiting for online
                           recovery, bit 6 paper feed button pressed
 2    offline cause        bit 2 **cover open**, bit 3 paper fed by the feed button, bit 5
                           **printing stopped by paper end**, bit 6 **an error occurred**
 3    error cause          bit 2 mechanical error, bit 3 autocutter error, bit 5 unrecoverable
                           error, bit 6 automatically recoverable error (head too hot)
 4    roll paper sensor    bits 2+3 **paper near end** (``0C``), bits 5+6 **paper out** (``60``)
====  ===================  ===================================================================

Sources: Epson's ESC/POS Command Reference, "DLE EOT: transmit real-time status" (the table above; the
offline-cause byte is printed the same in Epson's TM-L60II technical reference, ESC/POS Ver. 4.0 p. 1217,
and the error-cause bits in the TM-U220 automatic status back, where bit 2 is "mechanical error").
Citizen's iDP-3221 manual gives the same bytes for n = 1, 2, 3. python-escpos uses the n = 4 values as
``RT_MASK_PAPER`` 0x12, ``RT_MASK_LOWPAPER`` 0x1E, ``RT_MASK_NOPAPER`` 0x72.

Vectors (each byte as a printer sends it):

>>> decode_status({1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}).summary  # idle, drawer pin low, paper adequate
<PrinterStatus.OK: 'ok'>
>>> decode_status({1: 0x16, 2: 0x12, 3: 0x12, 4: 0x1E}).summary  # drawer pin high; near-end sensor
<PrinterStatus.PAPER_NEAR_END: 'paper_near_end'>
>>> decode_status({1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E}).summary  # offline: paper-end stop, both sensors
<PrinterStatus.PAPER_OUT: 'paper_out'>
>>> decode_status({1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}).summary  # offline: cover open
<PrinterStatus.COVER_OPEN: 'cover_open'>
>>> decode_status({1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12}).summary  # offline: error, autocutter jammed
<PrinterStatus.ERROR: 'error'>

``StatusPoll`` is the exchange as a state machine: it says which query to send next, takes the bytes the
printer answered, and ends with a ``PrinterState``. It asks for the causes (n = 2, 3) only when they
matter, so a healthy printer costs two round trips (n = 1 and n = 4).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from drivers.printer.base import PrinterStatus

DLE_EOT = b"\x10\x04"
_FIXED_MASK = 0b1001_0011  # bits 0, 1, 4, 7
_FIXED_VALUE = 0b0001_0010  # bits 1 and 4 on, 0 and 7 off


class Query(enum.IntEnum):
    PRINTER = 1
    OFFLINE_CAUSE = 2
    ERROR_CAUSE = 3
    PAPER_SENSOR = 4


class StatusProtocolError(ValueError):
    """The printer answered something that is not a DLE EOT status byte (wrong device, wrong baud rate,
    or an ESC/POS emulation that does not answer real-time status)."""


def encode_query(query: Query) -> bytes:
    """The bytes to send for one real-time status query: ``DLE EOT n``."""
    return DLE_EOT + bytes([int(query)])


def check_status_byte(query: Query, value: int) -> int:
    """``value`` if it has the fixed bits every status byte has, else ``StatusProtocolError``."""
    if not 0 <= value <= 0xFF or value & _FIXED_MASK != _FIXED_VALUE:
        raise StatusProtocolError(
            f"the printer answered DLE EOT {int(query)} with 0x{value:02X}, not a status byte "
            "(fixed bits wrong): check the connection settings (baud rate, device) and that the printer "
            "speaks ESC/POS"
        )
    return value


@dataclass(frozen=True)
class PrinterState:
    """Everything the real-time status said. Unasked causes are False (asked only when offline)."""

    online: bool = True
    waiting_for_recovery: bool = False
    feed_button_pressed: bool = False
    cover_open: bool = False
    paper_end_stop: bool = False
    error: bool = False
    mechanical_error: bool = False
    autocutter_error: bool = False
    unrecoverable_error: bool = False
    auto_recoverable_error: bool = False
    paper_near_end: bool = False
    paper_out: bool = False

    @property
    def summary(self) -> PrinterStatus:
        """The one status the station acts on, most serious first."""
        if self.error or self.mechanical_error or self.autocutter_error or self.unrecoverable_error:
            return PrinterStatus.ERROR
        if self.auto_recoverable_error:
            return PrinterStatus.ERROR
        if self.cover_open:
            return PrinterStatus.COVER_OPEN
        if self.paper_out or self.paper_end_stop:
            return PrinterStatus.PAPER_OUT
        if not self.online:
            return PrinterStatus.OFFLINE
        if self.paper_near_end:
            return PrinterStatus.PAPER_NEAR_END
        return PrinterStatus.OK

    @property
    def can_print(self) -> bool:
        return self.summary in (PrinterStatus.OK, PrinterStatus.PAPER_NEAR_END)

    def describe(self) -> str:
        """What is wrong, in words for staff (empty when nothing is)."""
        words = [text for flag, text in _DESCRIPTIONS if getattr(self, flag)]
        if not self.online and not words:
            words.append("offline")
        return ", ".join(words)


_DESCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("cover_open", "cover open"),
    ("paper_out", "paper out"),
    ("paper_end_stop", "stopped at paper end"),
    ("paper_near_end", "paper near end"),
    ("mechanical_error", "mechanical error"),
    ("autocutter_error", "autocutter error (paper jam at the cutter)"),
    ("unrecoverable_error", "unrecoverable error (switch the printer off and on; service if it stays)"),
    ("auto_recoverable_error", "print head too hot (recovers by itself)"),
    ("feed_button_pressed", "feed button held"),
)


def _bit(value: int, bit: int) -> bool:
    return bool(value >> bit & 1)


def decode_status(answers: Mapping[int, int]) -> PrinterState:
    """A ``PrinterState`` from the status bytes answered per query number (1 and 4 at least)."""
    for number in (Query.PRINTER, Query.PAPER_SENSOR):
        if number not in answers:
            raise ValueError(f"DLE EOT {int(number)} is needed to decode the status")
    checked = {Query(n): check_status_byte(Query(n), value) for n, value in answers.items()}
    printer = checked[Query.PRINTER]
    offline = checked.get(Query.OFFLINE_CAUSE, _FIXED_VALUE)
    error = checked.get(Query.ERROR_CAUSE, _FIXED_VALUE)
    paper = checked[Query.PAPER_SENSOR]
    return PrinterState(
        online=not _bit(printer, 3),
        waiting_for_recovery=_bit(printer, 5),
        feed_button_pressed=_bit(printer, 6),
        cover_open=_bit(offline, 2),
        paper_end_stop=_bit(offline, 5),
        error=_bit(offline, 6),
        mechanical_error=_bit(error, 2),
        autocutter_error=_bit(error, 3),
        unrecoverable_error=_bit(error, 5),
        auto_recoverable_error=_bit(error, 6),
        paper_near_end=paper & 0x0C == 0x0C,
        paper_out=paper & 0x60 == 0x60,
    )


class PollState(enum.Enum):
    SEND = "send"  # ``next_query`` says what to send
    AWAIT = "await"  # waiting for the answer to the query just sent
    DONE = "done"  # ``result`` holds the state


class IllegalPollStep(RuntimeError):
    """The caller did something the poll's state does not allow (a bug in the caller)."""


class StatusPoll:
    """One status poll: 1 -> (if offline: 2 and 3) -> 4.

    >>> poll = StatusPoll()
    >>> poll.next_query()
    <Query.PRINTER: 1>
    >>> poll.receive(b"\\x12")
    >>> poll.next_query()
    <Query.PAPER_SENSOR: 4>
    >>> poll.receive(b"\\x7e")
    >>> poll.state, poll.result.summary
    (<PollState.DONE: 'done'>, <PrinterStatus.PAPER_OUT: 'paper_out'>)
    """

    def __init__(self) -> None:
        self.state = PollState.SEND
        self._plan: list[Query] = [Query.PRINTER]
        self._answers: dict[int, int] = {}
        self._asked: Query | None = None
        self._result: PrinterState | None = None

    def next_query(self) -> Query:
        if self.state is not PollState.SEND:
            raise IllegalPollStep(f"no query to send in state {self.state.value}")
        self._asked = self._plan.pop(0)
        self.state = PollState.AWAIT
        return self._asked

    def receive(self, data: bytes) -> None:
        """The printer's answer to the query just sent (exactly one byte)."""
        if self.state is not PollState.AWAIT or self._asked is None:
            raise IllegalPollStep(f"no answer expected in state {self.state.value}")
        if len(data) != 1:
            raise StatusProtocolError(
                f"the printer answered DLE EOT {int(self._asked)} with {len(data)} bytes, expected 1"
            )
        value = check_status_byte(self._asked, data[0])
        self._answers[int(self._asked)] = value
        if self._asked is Query.PRINTER:
            offline = _bit(value, 3)
            self._plan = [Query.OFFLINE_CAUSE, Query.ERROR_CAUSE] if offline else []
            self._plan.append(Query.PAPER_SENSOR)
        if self._plan:
            self.state = PollState.SEND
        else:
            self._result = decode_status(self._answers)
            self.state = PollState.DONE
        self._asked = None

    @property
    def result(self) -> PrinterState:
        if self._result is None:
            raise IllegalPollStep(f"the poll is not done (state {self.state.value})")
        return self._result


def encode_status(query: Query, state: PrinterState, *, drawer_high: bool = False) -> bytes:
    """The byte a printer in ``state`` answers to ``query`` (the simulator's side of the codec)."""
    value = _FIXED_VALUE
    if query is Query.PRINTER:
        value |= (
            (drawer_high << 2)
            | ((not state.online) << 3)
            | (state.waiting_for_recovery << 5)
            | (state.feed_button_pressed << 6)
        )
    elif query is Query.OFFLINE_CAUSE:
        value |= (state.cover_open << 2) | (state.paper_end_stop << 5) | (state.error << 6)
    elif query is Query.ERROR_CAUSE:
        value |= (
            (state.mechanical_error << 2)
            | (state.autocutter_error << 3)
            | (state.unrecoverable_error << 5)
            | (state.auto_recoverable_error << 6)
        )
    else:
        value |= (0x0C if state.paper_near_end else 0) | (0x60 if state.paper_out else 0)
    return bytes([value])
