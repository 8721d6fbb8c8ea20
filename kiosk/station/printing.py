"""Receipts for patrons and slips for staff, as `Receipt` data for the `Printer` protocol.

A patron's receipt is in the patron's language and its outcome goes back to the session (paper out is
something the patron is told). A receipt by e-mail goes to the gateway, which looks up the address and
sends it; the session hears whether it went. A staff slip (transit, hold shelf, see staff) is in the
staff language; it may name the hold patron, the returning patron never sees it, and the observation
only says whether it names someone.
"""

from __future__ import annotations

import asyncio
import logging

from drivers.printer.base import Printer, PrinterError, PrinterStatus
from drivers.printer.layout import LibraryLayout
from drivers.printer.receipt import Receipt
from kiosk.core import EmailReceipt, PrinterChanged, PrintReceipt, PrintStaffSlip, ReceiptPrinted, Text
from kiosk.i18n import translate
from kiosk.station.device_observations import (
    Printed,
    PrinterHealth,
    ReceiptEmailed,
    SlipNotPrinted,
    StaffSlip,
)
from kiosk.station.gateway import GatewayLink
from kiosk.station.receipts import patron_receipts, receipt_email, slip_receipt
from kiosk.station.tasks import Shell, report_fault
from server_api.circulation import Circulation, CirculationError, Route, RouteKind

log = logging.getLogger(__name__)


def hold_patron_label(route: Route) -> str:
    """Who a hold is for, as far as the library system said: "Name (id)", or whichever it gave.
    For the staff slip only; the returning patron never sees it."""
    name, patron_id = route.hold_patron_name, route.hold_patron_id
    if name and patron_id:
        return f"{name} ({patron_id})"
    return name or patron_id


class Printing:
    """Receipts and slips, and what the printer can do: its status is polled between sessions (`run`,
    `poll`) and learnt from every print; a change that decides whether a receipt can be offered reaches
    the session as `PrinterChanged` (rule 11), every change the observers as `PrinterHealth`."""

    def __init__(
        self,
        shell: Shell,
        printer: Printer,
        *,
        library_name: str,
        staff_language: str,
        poll_interval: float = 30.0,
        layout: LibraryLayout | None = None,
    ) -> None:
        self._shell = shell
        self._printer = printer
        self.library_name = library_name
        self.staff_language = staff_language
        self.poll_interval = poll_interval
        self.layout = layout  # [receipts]: header, opening hours, footer, QR code, hold patron on slips
        self.printer_status = PrinterStatus.OK  # the last the printer said (Station.status, the heartbeat)

    async def run(self) -> None:
        """Ask the printer every `poll_interval` seconds (a bug is reported; the loop goes on)."""
        while True:
            try:
                await self.poll()
            except Exception as error:
                report_fault(self._shell, error)
            await asyncio.sleep(self.poll_interval)

    async def poll(self) -> PrinterStatus:
        """The printer's status now (never raises for a printer problem: no answer is OFFLINE)."""
        status = await self._printer.status()
        self._note(status)
        return status

    def _note(self, status: PrinterStatus) -> None:
        before = self.printer_status
        if status is before:
            return
        self.printer_status = status
        log.log(logging.INFO if status.can_print else logging.WARNING, "receipt printer: %s", status.value)
        self._shell.observe(PrinterHealth(status.value, status.can_print))
        if status.can_print != before.can_print:
            self._shell.feed(PrinterChanged(status.can_print, self._shell.clock(), status.value))

    async def receipt(self, command: PrintReceipt) -> None:
        """The visit's receipts (`kiosk.station.receipts`); the session hears whether they printed."""
        for receipt in patron_receipts(command, self.library_name, self._shell.clock(), self.layout):
            error = await self._print(receipt)
            if error:
                self._shell.feed(ReceiptPrinted(False, self._shell.clock(), error))
                return
        self._shell.feed(ReceiptPrinted(True, self._shell.clock()))

    async def email_receipt(self, command: EmailReceipt, circulation: Circulation) -> None:
        """The visit's receipts by e-mail through the gateway (the session offers it only there); the
        session hears whether it went. The card goes to the gateway, never an address."""
        error = "e-mail receipts go through the consortium's gateway, and this station has none"
        if isinstance(circulation, GatewayLink):
            now = self._shell.clock()
            subject, body = receipt_email(command.receipt, self.library_name, now, self.layout)
            try:
                await circulation.client.email_receipt(
                    command.patron_id, command.receipt.language, subject, body
                )
                error = ""
            except CirculationError as failure:
                error = str(failure)
        if error:
            log.warning("e-mail receipt not sent: %s", error)
        self._shell.observe(ReceiptEmailed(ok=not error, error=error))
        self._shell.feed(ReceiptPrinted(not error, self._shell.clock(), error, emailed=True))

    async def staff_slip(self, command: PrintStaffSlip) -> None:
        """The layout's hold-shelf or transit slip (`slip_receipt`); a slip the printer could not print
        becomes a staff task with the full routing (the hold patron as the library system named them)."""
        lang, route = self.staff_language, command.route
        routing = [
            translate(Text.of(f"slip.{route.kind.value}"), lang),
            route.destination_name or route.destination_id,
            command.title or command.item_id,
            command.item_id,
        ]
        if route.kind is RouteKind.HOLD_SHELF and (route.hold_patron_id or route.hold_patron_name):
            routing.append(translate(Text.of("slip.hold_for", patron=hold_patron_label(route)), lang))
        self._shell.observe(
            StaffSlip(
                command.item_id,
                route.kind.value,
                route.destination_name or route.destination_id,
                # Whether the slip names the hold patron, not who: observations end up in logs.
                names_hold_patron=bool(route.hold_patron_name or route.hold_patron_id),
            )
        )
        receipt = slip_receipt(command, lang, self.library_name, self._shell.clock(), self.layout)
        # The session asks for slips for the hold shelf and transit only; any other route has no layout.
        error = await self._print(receipt) if receipt else f"no slip layout for the route {route.kind.value}"
        if error:
            # The routing must not be lost with the paper: a staff task keeps it (kiosk.station.staff_tasks).
            self._shell.observe(SlipNotPrinted(command.item_id, " / ".join(t for t in routing if t), error))

    async def _print(self, receipt: Receipt) -> str:
        """Print; the printer's error ("" when printed). Observed as "patron" or "staff_slip"."""
        kind = "staff_slip" if receipt.kind in ("staff_slip", "hold_slip", "transit_slip") else "patron"
        try:
            result = await self._printer.print(receipt)
        except PrinterError as error:
            self._note(error.status)
            self._shell.observe(Printed(kind, ok=False, error=str(error)))
            return str(error)
        self._note(result.status)  # e.g. paper near end after this receipt
        self._shell.observe(Printed(kind, ok=True, files=tuple(str(p) for p in result.files)))
        return ""


__all__ = ["Printing", "hold_patron_label"]
