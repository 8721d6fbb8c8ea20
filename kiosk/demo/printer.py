"""The demo's receipt printer: the real ESC/POS driver (`drivers.printer.open_printer`, serial) on a pty to
the simulated ESC/POS printer (`drivers.printer.escpos_sim`), so the demo prints the way a kiosk does: code
page text, Sámi and other lines as raster images, status polls, paper out.

After every job the simulator's paper is saved as PNGs in the receipts folder (`receipt-1.png`, ...: what
the printer would have printed, rendered by the simulator), with a text copy of each job beside it
(`<job>.txt`, for people and tests that read slips). The folder is the kiosk user's alone (receipts name
loans; slips may name a hold patron).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from drivers.printer import Printer, PrinterStatus, PrintResult, Receipt, open_printer
from drivers.printer.escpos_sim import SimulatedEscposPrinter
from drivers.printer.file_printer import render_text

# Nordic letters as text; titles with č đ ŋ š ŧ ž (Sámi) or Cyrillic print as raster images, as they
# would on a printer whose code pages lack them.
DEMO_CODE_PAGES = ("CP865", "CP1252")


class DemoPrinter:
    """A `Printer`: the ESC/POS driver and the simulator behind it. `start()` before use, `stop()` after."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # The simulator's serial line beside the receipts, in the demo's own folder: a station killed
        # (the crash harness, 1,000 times) leaves nothing in /tmp.
        line = directory.parent / "printer-line"
        line.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.sim = SimulatedEscposPrinter(tcp_port=None, directory=line)
        self._driver: Printer | None = None
        self._jobs = 0
        self._saved = 0  # receipts saved as PNG so far

    def start(self) -> DemoPrinter:
        self.sim.start()
        self._driver = open_printer(self.sim.settings("serial", code_pages=DEMO_CODE_PAGES))
        return self

    def stop(self) -> None:
        self.sim.stop()

    @property
    def driver(self) -> Printer:
        assert self._driver is not None, "DemoPrinter.start() first"
        return self._driver

    async def print(self, receipt: Receipt) -> PrintResult:
        result = await self.driver.print(receipt)
        self._jobs += 1
        files = await asyncio.to_thread(self._save, receipt, f"{self._jobs:04d}-{result.job_name}")
        return PrintResult(result.job_name, files, result.status)

    async def status(self) -> PrinterStatus:
        return await self.driver.status()

    async def close(self) -> None:
        await self.driver.close()

    paper_out = False  # as the demo panel set it (the panel's toggle shows it)

    def simulate_paper_out(self) -> None:
        """The demo panel's "Empty printer": the roll ends now."""
        self.sim.paper_left(0)
        self.paper_out = True

    def refill_paper(self) -> None:
        self.sim.refill()
        self.paper_out = False

    def _save(self, receipt: Receipt, name: str) -> tuple[Path, ...]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = self.directory / f"{name}.txt"
        fd = os.open(text, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render_text(receipt))
        pngs = []
        # Torn off: the simulator keeps no paper it printed (a demo running all day kept every receipt's
        # image and rendered them all again at each print: ~4 MB more memory a visit, bench/soak.py).
        for paper in self.sim.tear_off():
            self._saved += 1
            png = self.directory / f"receipt-{self._saved}.png"
            paper.save(png, format="PNG")
            png.chmod(0o600)
            pngs.append(png)
        return (*pngs, text)


__all__ = ["DEMO_CODE_PAGES", "DemoPrinter"]
