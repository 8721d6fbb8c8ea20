"""The reader and the printer, opened the way the station opens them (`kiosk.hardware`, `kiosk.cli.build`
share the code paths), asked once, and let go."""

from __future__ import annotations

import asyncio

from drivers.printer import Printer, PrinterError, PrinterStatus
from drivers.rfid.base import Reader, ReaderError
from kiosk.config import ConfigError, StationConfig
from kiosk.doctor.result import Finding, fail, ok, warn
from kiosk.hardware import open_reader

ANSWER_WITHIN = 5.0  # seconds a device has to answer

PRINTER_ADVICE = {
    PrinterStatus.PAPER_NEAR_END: "paper is running low: put a new roll in soon",
    PrinterStatus.PAPER_OUT: "out of paper: put in a new roll (patrons are offered no receipt until then)",
    PrinterStatus.COVER_OPEN: "the cover is open: close it until it clicks",
    PrinterStatus.ERROR: "the printer reports an error (cutter jammed, overheated): switch it off and on, "
    "then `kiosk printer test`",
    PrinterStatus.OFFLINE: "the printer does not answer: check its power and cable, then "
    "`kiosk printer test`",
}


def describe_reader(config: StationConfig) -> str:
    rfid = config.rfid
    if rfid.reader == "feig":
        return f"FEIG reader on {rfid.device}"
    if rfid.reader == "pcsc":
        return f"PC/SC reader {rfid.pcsc_reader or '(the first)'} ({rfid.pcsc_model})"
    return "simulated pad"


async def check_reader(config: StationConfig, station: dict[str, object] | None = None) -> Finding:
    """Asked directly, or, while a station runs (`station`: what it reports), as the station sees it: the
    station holds the reader, and a second opener would only disturb it."""
    which = describe_reader(config)
    if station is not None:
        pid = station.get("pid")
        if station.get("reader_ok") is False:
            return fail("reader", f"{which}: the running station (pid {pid}) gets no answer", _READER_ADVICE)
        return ok("reader", f"{which}: in use by the running station (pid {pid}), answering")
    try:
        reader = open_reader(config.rfid, check_device=True, source=config.source)
    except (ConfigError, ReaderError) as error:
        return fail("reader", f"{which}: {error}", _READER_ADVICE)
    try:
        tags = await _inventory(reader)
    except (ReaderError, TimeoutError, OSError) as error:
        return fail("reader", f"{which} does not answer ({error or 'no answer in time'})", _READER_ADVICE)
    finally:
        await reader.close()
    return ok("reader", f"{which} answers; {len(tags)} tag(s) on the pad now")


_READER_ADVICE = (
    "check the reader's USB cable and power, and [rfid] in the configuration; `kiosk tag read` tries it alone"
)


async def _inventory(reader: Reader) -> list[bytes]:
    async with asyncio.timeout(ANSWER_WITHIN):
        return await reader.inventory()


async def check_printer(
    config: StationConfig, printer: Printer, station: dict[str, object] | None = None
) -> Finding:
    """Asked directly, or as a running station last heard it (it holds the printer's port)."""
    where = config.printer.settings(config.source).describe()
    if station is not None and str(station.get("printer")) in set(PrinterStatus):
        await printer.close()
        return _printer_finding(
            f"{where} (as the running station reports it)", PrinterStatus(str(station["printer"]))
        )
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            status = await printer.status()
    except (PrinterError, TimeoutError, OSError) as error:
        return fail(
            "printer", f"{where}: {error or 'no answer in time'}", PRINTER_ADVICE[PrinterStatus.OFFLINE]
        )
    finally:
        await printer.close()
    return _printer_finding(where, status)


def _printer_finding(where: str, status: PrinterStatus) -> Finding:
    if status is PrinterStatus.OK:
        return ok("printer", f"{where}: ready, paper loaded")
    said = f"{where}: {status.value.replace('_', ' ')}"
    if status.can_print:
        return warn("printer", said, PRINTER_ADVICE[status])
    return fail("printer", said, PRINTER_ADVICE[status])


__all__ = ["check_printer", "check_reader", "describe_reader"]
