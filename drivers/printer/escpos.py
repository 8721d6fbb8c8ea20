"""ESC/POS receipt printers (Epson TM-T20/T88, Star in ESC/POS emulation, kiosk printers) on python-escpos.

python-escpos does the bytes (text in a code page, raster images, cuts) and the transports (USB via
libusb, serial via pyserial, raw TCP, a character device). Its calls block, so every job runs in a
worker thread behind the async ``print``/``status``/``state`` methods, one job at a time.

Before each receipt the driver polls the real-time status (``DLE EOT``, drivers.printer.status) and
refuses to start on a printer that cannot print. It sends the receipt one line at a time and polls after
each line: when the paper runs out, the cover is opened or the printer fails in the middle, the caller
gets ``PrintInterrupted`` with the lines that printed and the ones that did not.

A printer on ``device`` (e.g. /dev/usb/lp0) is written blindly: it has no way back, so no status.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import termios
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import serial
from escpos import printer as escpos_printers
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposLibraryError

from drivers.printer.base import (
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterFault,
    PrinterOffline,
    PrinterStatus,
    PrintInterrupted,
    PrintResult,
)
from drivers.printer.codepages import printer_profile
from drivers.printer.file_printer import ReceiptRenderer
from drivers.printer.fonts import find_receipt_font
from drivers.printer.job import Block, compile_receipt
from drivers.printer.receipt import Receipt
from drivers.printer.settings import Connection, FlowControl, PrinterSettings
from drivers.printer.status import PollState, PrinterState, StatusPoll, StatusProtocolError, encode_query

__all__ = ["EscposPrinter", "error_for"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
# termios.error: pyserial's flush and tcdrain on a serial device that vanished (USB unplugged).
_TRANSPORT_ERRORS = (OSError, termios.error, serial.SerialException, EscposLibraryError, StatusProtocolError)


def error_for(state: PrinterState) -> PrinterError:
    """The typed error for a printer that cannot print in ``state``."""
    summary = state.summary
    if summary is PrinterStatus.PAPER_OUT:
        return PaperOut()
    if summary is PrinterStatus.COVER_OPEN:
        return CoverOpen()
    if summary is PrinterStatus.ERROR:
        return PrinterFault(state.describe())
    return PrinterOffline("the printer is offline")


class EscposPrinter:
    """A ``Printer`` for an ESC/POS printer. ``open_device`` replaces the python-escpos back end chosen by
    ``settings.connection`` (e.g. ``escpos.printer.Dummy`` to capture the bytes)."""

    def __init__(
        self,
        settings: PrinterSettings,
        *,
        font_path: Path | None = None,
        open_device: Callable[[PrinterSettings], Escpos] | None = None,
    ) -> None:
        if settings.connection is Connection.FILE:
            raise ValueError("connection = file is the FilePrinter; use drivers.printer.open_printer")
        self.settings = settings
        self.renderer = ReceiptRenderer(font_path or find_receipt_font(), settings.dots_per_line)
        self._open_device = open_device or open_escpos_device
        self._device: Escpos | None = None
        self._lock = threading.Lock()
        self._jobs = 0
        self.last_state: PrinterState | None = None

    @property
    def has_status(self) -> bool:
        return self.settings.status and self.settings.connection is not Connection.DEVICE

    # ------------------------------------------------------------ public, async

    async def status(self) -> PrinterStatus:
        """The printer's status now; OFFLINE when it cannot be reached (never raises)."""
        try:
            return (await self.state()).summary
        except PrinterError as error:
            return error.status

    async def state(self) -> PrinterState:
        """The full real-time status. Raises ``PrinterOffline`` when the printer does not answer."""
        return await asyncio.to_thread(self._locked, self._poll)

    async def print(self, receipt: Receipt) -> PrintResult:
        blocks = await asyncio.to_thread(compile_receipt, receipt, self.settings, self.renderer)
        return await asyncio.to_thread(self._locked, lambda: self._print_blocking(receipt, blocks))

    async def close(self) -> None:
        await asyncio.to_thread(self._locked, self._close)

    # ------------------------------------------------------------ worker thread

    def _locked(self, work: Callable[[], _T]) -> _T:
        with self._lock:
            return work()

    def _print_blocking(self, receipt: Receipt, blocks: Sequence[Block]) -> PrintResult:
        before = self._poll()
        if not before.can_print:
            raise error_for(before)
        printed: list[str] = []
        for index, block in enumerate(blocks):
            try:
                self._send(block)
                state = self._poll()
            except PrinterOffline as error:
                raise self._interrupted(error, printed, blocks[index:]) from error
            if not state.can_print and any(rest.counts for rest in blocks[index:]):
                raise self._interrupted(error_for(state), printed, blocks[index:])
            # (Paper that ends during the final feed and cut loses no line: the result's status says it.)
            if block.counts:
                printed.append(block.text)
        self._jobs += 1
        name = f"{receipt.printed_at.strftime('%Y%m%dT%H%M%S')}-{receipt.kind}-{self._jobs}"
        summary = self.last_state.summary if self.last_state else PrinterStatus.OK
        return PrintResult(job_name=name, status=summary)

    def _send(self, block: Block) -> None:
        device = self._connected()
        try:
            block.send(device)
        except _TRANSPORT_ERRORS as error:
            self._close()
            raise PrinterOffline(f"the connection to {self.settings.describe()} broke: {error}") from error

    def _interrupted(
        self, cause: PrinterError, printed: list[str], rest: Sequence[Block]
    ) -> PrintInterrupted:
        not_printed = tuple(block.text for block in rest if block.counts)
        log.warning("receipt printer stopped mid-receipt (%s); %d lines not printed", cause, len(not_printed))
        return PrintInterrupted(cause, tuple(printed), not_printed)

    def _poll(self) -> PrinterState:
        if not self.has_status:
            self._connected()  # a blind device: at least it must open
            return PrinterState()
        device = self._connected()
        poll = StatusPoll()
        try:
            while poll.state is not PollState.DONE:
                query = poll.next_query()
                poll.receive(self._exchange(device, encode_query(query)))
        except _TRANSPORT_ERRORS as error:
            self._close()
            raise PrinterOffline(
                f"no status from the printer at {self.settings.describe()}: {error}"
            ) from error
        self.last_state = poll.result
        return poll.result

    def _exchange(self, device: Escpos, query: bytes) -> bytes:
        """Send one real-time query and read its one-byte answer (python-escpos's ``query_status``
        reads up to 16 bytes, which on a serial port waits for the whole timeout)."""
        link = device.device
        if isinstance(link, serial.Serial):
            link.reset_input_buffer()
            link.write(query)
            answer = bytes(link.read(1))
        elif isinstance(link, socket.socket):
            link.sendall(query)
            answer = link.recv(1)
        else:
            answer = bytes(device.query_status(query))[:1]
        if not answer:
            raise TimeoutError(f"no answer to DLE EOT {query[-1]} within {self.settings.timeout} s")
        return answer

    def _connected(self) -> Escpos:
        if self._device is None:
            try:
                self._device = self._open_device(self.settings)
            except _TRANSPORT_ERRORS as error:
                raise PrinterOffline(f"cannot open {self.settings.describe()}: {error}") from error
        return self._device

    def _close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except _TRANSPORT_ERRORS as error:
                log.debug("closing the printer: %s", error)
            device.device = False  # so python-escpos's __del__ does not try to close it again


def open_escpos_device(settings: PrinterSettings) -> Escpos:
    """python-escpos's back end for ``settings.connection``, opened, with the configured paper width."""
    device: Escpos
    if settings.connection is Connection.SERIAL:
        device = escpos_printers.Serial(
            devfile=settings.device,
            baudrate=settings.baudrate,
            timeout=settings.timeout,
            xonxoff=settings.flow_control is FlowControl.XONXOFF,
            dsrdtr=settings.flow_control is FlowControl.DSRDTR,
        )
    elif settings.connection is Connection.NETWORK:
        device = escpos_printers.Network(host=settings.host, port=settings.port, timeout=settings.timeout)
    elif settings.connection is Connection.USB:
        device = escpos_printers.Usb(
            settings.usb_vendor_id, settings.usb_product_id, timeout=int(settings.timeout * 1000)
        )
    else:
        device = escpos_printers.File(devfile=settings.device)
    device.profile = printer_profile(settings.profile, settings.dots_per_line)
    device.open()
    if isinstance(device.device, socket.socket):
        # Status polls are one-byte round trips: without this, Nagle's algorithm holds each for ~40 ms.
        device.device.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if isinstance(device.device, serial.Serial) and settings.flow_control is FlowControl.RTSCTS:
        device.device.rtscts = True
    return device
