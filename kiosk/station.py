"""The station: runs the patron session against real (or simulated) hardware and the library system.

One asyncio loop (Kivy joins it through `App.async_run`). The station
- polls the RFID pad and feeds `TagsChanged` into the session,
- feeds the patron's presses, PIN and card from the UI,
- executes the session's commands: circulation calls (each with a fresh `Transaction`), verified
  security writes, receipts and staff slips,
- ticks the session once a second so idle timeouts work,
- tells listeners about every screen (the UI) and observers about everything that happened (the
  headless demo's transcript, logs). PINs never reach either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from drivers.printer.base import Printer, PrinterError
from drivers.printer.receipt import Receipt, ReceiptLine
from drivers.rfid.base import Reader, ReaderError
from kiosk.i18n import translate
from kiosk.pad import decode_pad_tag
from kiosk.screens import Action, Screen, Text
from kiosk.session import (
    Authenticate,
    CardPresented,
    Checkin,
    CheckinDone,
    Checkout,
    CheckoutDone,
    CirculationFailed,
    Command,
    EndPatronSession,
    Event,
    LanguageChosen,
    Operation,
    PadTag,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    PrintReceipt,
    PrintStaffSlip,
    ReceiptPrinted,
    Renew,
    RenewDone,
    SecurityWritten,
    SessionPolicy,
    Show,
    Speak,
    TagsChanged,
    Tick,
    WriteSecurity,
)
from server_api.circulation import Circulation, CirculationError, RouteKind, Transaction

log = logging.getLogger(__name__)

ScreenListener = Callable[[Screen], None]
Observer = Callable[[dict[str, Any]], None]


def local_now() -> datetime:
    """SIP2 dates are the library's local time, without a zone."""
    return datetime.now().replace(microsecond=0)


def afi_hex(value: int) -> str:
    return f"0x{value:02X}"


class Station:
    def __init__(
        self,
        *,
        circulation: Circulation,
        reader: Reader,
        printer: Printer,
        policy: SessionPolicy,
        library_name: str = "",
        staff_language: str = "nb",
        clock: Callable[[], datetime] = local_now,
        poll_interval: float = 0.1,
        tick_interval: float = 1.0,
        security_attempts: int = 3,
    ) -> None:
        self.circulation = circulation
        self.reader = reader
        self.printer = printer
        self.policy = policy
        self.library_name = library_name
        self.staff_language = staff_language
        self.clock = clock
        self.poll_interval = poll_interval
        self.tick_interval = tick_interval
        self.security_attempts = security_attempts
        self.session = PatronSession(policy, clock())
        self.screen: Screen = self.session.screen()
        self._listeners: list[ScreenListener] = []
        self._observers: list[Observer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._pad: dict[bytes, PadTag] = {}
        self._reader_ok = True

    # ------------------------------------------------------------ wiring

    def add_listener(self, listener: ScreenListener) -> None:
        self._listeners.append(listener)
        listener(self.screen)

    def add_observer(self, observer: Observer) -> None:
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        self._observers.remove(observer)

    def _observe(self, kind: str, **data: Any) -> None:
        record = {"kind": kind, **data}
        for observer in self._observers:
            observer(record)

    # ------------------------------------------------------------ input from the UI

    def press(self, action: Action) -> None:
        self.feed(Pressed(action, self.clock()))

    def enter_pin(self, pin: str) -> None:
        self.feed(PinEntered(pin, self.clock()))

    def present_card(self, card_id: str) -> None:
        self.feed(CardPresented(card_id, self.clock()))

    def set_language(self, code: str) -> None:
        self.feed(LanguageChosen(code, self.clock()))

    # ------------------------------------------------------------ running

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._poll_pad(), name="pad"),
            asyncio.create_task(self._tick(), name="tick"),
        ]

    async def run(self) -> None:
        await self.start()
        await asyncio.gather(*self._loops)

    async def stop(self) -> None:
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        for task in [*self._loops, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops.clear()
        self._tasks.clear()

    async def settle(self) -> None:
        """Wait until every command already issued has finished (tests and scripted scenarios)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def feed(self, event: Event) -> None:
        for command in self.session.handle(event):
            self._execute(command)

    # ------------------------------------------------------------ commands

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("station task %s failed", task.get_name(), exc_info=task.exception())

    def _execute(self, command: Command) -> None:
        match command:
            case Show(screen):
                self.screen = screen
                self._observe("screen", **self._describe(screen))
                for listener in self._listeners:
                    listener(screen)
            case Authenticate():
                self._spawn(self._authenticate(command), "authenticate")
            case Checkout() | Checkin() | Renew():
                self._spawn(self._circulate(command), f"circulate {command.item_id}")
            case WriteSecurity():
                self._spawn(self._write_security(command), f"security {command.item_id}")
            case PrintReceipt():
                self._spawn(self._print_receipt(command), "receipt")
            case PrintStaffSlip():
                self._spawn(self._print_staff_slip(command), f"slip {command.item_id}")
            case EndPatronSession(patron_id):
                self._spawn(self._end_patron_session(patron_id), "end session")
            case Speak():
                pass  # speech output comes with the universal-design work; the UI reads screens aloud

    def _describe(self, screen: Screen) -> dict[str, Any]:
        lang = screen.language
        return {
            "screen": screen.name.value,
            "heading": translate(screen.heading, lang),
            "message": translate(screen.message, lang) if screen.message else "",
            "rows": [
                {
                    "item_id": row.item_id,
                    "title": row.title,
                    "state": row.state.value,
                    "text": translate(row.text, lang),
                }
                for row in screen.rows
            ],
            "details": [translate(line, lang) for line in screen.details],
            "actions": [a.value for a in screen.actions],
            "offline": screen.offline,
        }

    async def _authenticate(self, command: Authenticate) -> None:
        txn = Transaction.new(self.clock())
        try:
            account = await self.circulation.patron(command.card_id, command.pin, txn)
        except CirculationError as error:
            self._observe("circulation", action="patron", ok=False, error=str(error))
            self.feed(CirculationFailed(Operation.PATRON, "", str(error), self.clock()))
            return
        self._observe("circulation", action="patron", ok=account.found and account.pin_ok is not False)
        self.feed(PatronLoaded(account, self.clock()))

    async def _circulate(self, command: Checkout | Checkin | Renew) -> None:
        txn = Transaction.new(self.clock())
        try:
            match command:
                case Checkout(patron_id, item_id, pin):
                    checkout = await self.circulation.checkout(patron_id, item_id, txn, pin=pin)
                    self._observe(
                        "circulation",
                        action="checkout",
                        item_id=item_id,
                        ok=checkout.ok,
                        txn=str(txn.id),
                        due=checkout.due.isoformat() if checkout.due else None,
                        reason=checkout.reason,
                        screen_message=checkout.screen_message,
                    )
                    self.feed(CheckoutDone(checkout, self.clock()))
                case Checkin(item_id):
                    checkin = await self.circulation.checkin(item_id, txn)
                    route = checkin.route
                    self._observe(
                        "circulation",
                        action="checkin",
                        item_id=item_id,
                        ok=checkin.ok,
                        txn=str(txn.id),
                        route=route.kind.value,
                        destination=route.destination_name or route.destination_id,
                        reason=checkin.reason,
                        screen_message=checkin.screen_message,
                    )
                    self.feed(CheckinDone(checkin, self.clock()))
                case Renew(patron_id, item_id):
                    renewal = await self.circulation.renew(patron_id, item_id, txn)
                    self._observe(
                        "circulation",
                        action="renew",
                        item_id=item_id,
                        ok=renewal.ok,
                        txn=str(txn.id),
                        due=renewal.due.isoformat() if renewal.due else None,
                    )
                    self.feed(RenewDone(renewal, self.clock()))
        except CirculationError as error:
            operation = {Checkout: Operation.CHECKOUT, Checkin: Operation.CHECKIN, Renew: Operation.RENEW}
            self._observe(
                "circulation",
                action=operation[type(command)].value,
                item_id=command.item_id,
                ok=False,
                txn=str(txn.id),
                error=str(error),
            )
            self.feed(CirculationFailed(operation[type(command)], command.item_id, str(error), self.clock()))

    async def _write_security(self, command: WriteSecurity) -> None:
        """Write the AFI to every part and read it back; retry; report per tag."""
        all_ok = True
        detail = ""
        for uid in command.uids:
            before = self._pad[uid].afi if uid in self._pad else None
            verified = False
            attempts = 0
            for attempts in range(1, self.security_attempts + 1):  # noqa: B007 (reported below)
                try:
                    await self.reader.write_afi(uid, command.afi)
                    verified = await self.reader.read_afi(uid) == command.afi
                except ReaderError as error:
                    detail = str(error)
                if verified:
                    break
            if verified and uid in self._pad:
                tag = self._pad[uid]
                self._pad[uid] = PadTag(**{**tag.__dict__, "afi": command.afi})
            all_ok &= verified
            self._observe(
                "hardware",
                action="write_afi",
                item_id=command.item_id,
                uid=uid.hex(),
                afi_before=afi_hex(before) if before is not None else None,
                afi_after=afi_hex(command.afi),
                verified=verified,
                attempts=attempts,
                error="" if verified else detail,
            )
        self.feed(SecurityWritten(command.item_id, all_ok, self.clock(), detail))

    async def _print_receipt(self, command: PrintReceipt) -> None:
        lang = command.language
        lines = [ReceiptLine(translate(line, lang)) for line in command.lines]
        receipt = Receipt(
            kind="patron",
            title=translate(command.heading, lang),
            lines=tuple(lines),
            footer=translate(Text("receipt.footer"), lang),
            library_name=self.library_name,
            printed_at=self.clock(),
            language=lang,
        )
        await self._print(receipt)

    async def _print_staff_slip(self, command: PrintStaffSlip) -> None:
        lang = self.staff_language
        route = command.route
        lines = [
            ReceiptLine(translate(Text.of(f"slip.{route.kind.value}"), lang), style="large", align="center"),
            ReceiptLine(route.destination_name or route.destination_id, style="large", align="center"),
            ReceiptLine(command.title or command.item_id, style="bold"),
            ReceiptLine(command.item_id),
        ]
        if route.kind is RouteKind.HOLD_SHELF and (route.hold_patron_id or route.hold_patron_name):
            lines.append(
                ReceiptLine(
                    translate(
                        Text.of(
                            "slip.hold_for", patron=route.hold_patron_name, patron_id=route.hold_patron_id
                        ),
                        lang,
                    )
                )
            )
        receipt = Receipt(
            kind="staff_slip",
            title=translate(Text("slip.heading"), lang),
            lines=tuple(lines),
            footer="",
            library_name=self.library_name,
            printed_at=self.clock(),
            language=lang,
        )
        self._observe(
            "slip",
            item_id=command.item_id,
            route=route.kind.value,
            destination=route.destination_name or route.destination_id,
            hold_patron=route.hold_patron_name or route.hold_patron_id,
        )
        await self._print(receipt, report=False)

    async def _print(self, receipt: Receipt, *, report: bool = True) -> None:
        try:
            result = await self.printer.print(receipt)
        except PrinterError as error:
            self._observe("hardware", action="print", receipt=receipt.kind, ok=False, error=str(error))
            if report:
                self.feed(ReceiptPrinted(False, self.clock(), str(error)))
            return
        self._observe(
            "hardware", action="print", receipt=receipt.kind, ok=True, files=[str(p) for p in result.files]
        )
        if report:
            self.feed(ReceiptPrinted(True, self.clock()))

    async def _end_patron_session(self, patron_id: str) -> None:
        with contextlib.suppress(CirculationError):
            await self.circulation.end_session(patron_id)

    # ------------------------------------------------------------ loops

    async def _poll_pad(self) -> None:
        while True:
            try:
                changed = await self._scan_pad()
            except ReaderError as error:
                if self._reader_ok:
                    log.warning("RFID reader: %s", error)
                    self._observe("hardware", action="reader", ok=False, error=str(error))
                self._reader_ok = False
                changed = False
            else:
                if not self._reader_ok:
                    self._observe("hardware", action="reader", ok=True)
                self._reader_ok = True
            if changed:
                self.feed(TagsChanged(tuple(self._pad.values()), self.clock()))
            await asyncio.sleep(self.poll_interval)

    async def _scan_pad(self) -> bool:
        present = await self.reader.inventory()
        changed = False
        for uid in present:
            if uid in self._pad:
                continue
            try:
                memory = await self.reader.read(uid)
            except ReaderError:
                continue  # gone again before it could be read: the next round decides
            self._pad[uid] = decode_pad_tag(memory)
            changed = True
        for uid in set(self._pad) - set(present):
            del self._pad[uid]
            changed = True
        return changed

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.feed(Tick(self.clock()))
