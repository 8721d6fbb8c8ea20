"""A simulated ESC/POS receipt printer on a pty (a serial printer) and on TCP 127.0.0.1 (a network printer
on port 9100): the driver talks to it through python-escpos's real Serial and Network back ends.

Like a real printer it

- answers real-time status (``DLE EOT 1..4``) at once, also while offline, from its paper, cover and
  error state (drivers.printer.status encodes the bytes);
- keeps every byte it was sent (``received``) and prints what it understood onto a paper roll
  (drivers.printer.escpos_paper) that renders to PNG (``image()``, ``receipts()``, ``save_png``);
- runs out of paper: ``paper_left(dots)`` gives it a roll that ends after so many dot rows (also in
  the middle of a receipt), with the near-end sensor on below ``near_end_dots``; ``open_cover()``,
  ``jam_cutter()`` stop it too;
- holds what arrives while it cannot print and prints it when the paper is loaded and the cover shut
  (``refill()``, ``close_cover()``), the way Epson TM printers resume.

It serves in its own thread; use it as a context manager. ``path`` is a stable symlink to the pty (as
/dev/serial/by-id/... is on a kiosk), ``port`` the TCP port.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import socket
import tempfile
import threading
import tty
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import Any

from PIL import Image

from drivers.printer import escpos_stream as es
from drivers.printer.escpos_paper import PaperEngine
from drivers.printer.settings import Connection, PrinterSettings
from drivers.printer.status import PrinterState, Query, encode_status

__all__ = ["SimulatedEscposPrinter"]


class SimulatedEscposPrinter:
    def __init__(
        self,
        *,
        dots_per_line: int = 512,
        tcp_port: int | None = 0,
        directory: Path | None = None,
        near_end_dots: int = 0,
    ) -> None:
        self.paper = PaperEngine(dots_per_line)
        self.near_end_dots = near_end_dots
        self.received = bytearray()
        self.status_requests: list[int] = []
        self._tcp_port = tcp_port
        self._own_dir = directory is None
        self._dir = Path(tempfile.mkdtemp(prefix="escpos-sim-")) if directory is None else directory
        self.path = str(self._dir / "ttyPRINTER0")
        self.port = 0
        self._lock = threading.RLock()
        self._paper_left: int | None = None
        self._cover_open = False
        self._cutter_jammed = False
        self._cover_countdown: int | None = None
        self._held: deque[es.Event] = deque()
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._clients: dict[int, tuple[socket.socket, es.StreamParser]] = {}
        self._pty_parser = es.StreamParser()
        self._wake_r, self._wake_w = os.pipe()
        self._running = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SimulatedEscposPrinter:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master, self._slave = master, slave
        link = Path(self.path)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()  # left by a process that was killed in the same directory
        link.symlink_to(os.ttyname(slave))
        if self._tcp_port is not None:
            listener = socket.create_server(("127.0.0.1", self._tcp_port))
            self._listener, self.port = listener, listener.getsockname()[1]
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="escpos-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        for client, _ in self._clients.values():
            client.close()
        if self._listener is not None:
            self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            Path(self.path).unlink()
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._own_dir:
            with contextlib.suppress(OSError):
                self._dir.rmdir()

    def __enter__(self) -> SimulatedEscposPrinter:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def settings(self, via: str = "serial", **values: Any) -> PrinterSettings:
        """Printer settings that reach this simulator over the pty (``via="serial"``) or TCP."""
        if via == "serial":
            values = {"device": self.path, "flow_control": "none", **values}
        else:
            values = {"host": "127.0.0.1", "port": self.port, **values}
        return PrinterSettings(connection=Connection(via), dots_per_line=self.paper.dots_per_line, **values)

    # ------------------------------------------------------------ what a technician does to it

    def paper_left(self, dots: int | None) -> None:
        """Load a roll that ends after ``dots`` dot rows (None: endless)."""
        with self._lock:
            self._paper_left = dots

    def refill(self) -> None:
        """A new roll: endless paper; whatever was held prints now."""
        with self._lock:
            self._paper_left = None
            self._resume()

    def open_cover(self) -> None:
        with self._lock:
            self._cover_open = True

    def open_cover_after(self, dots: int) -> None:
        """Someone opens the cover once ``dots`` more dot rows have printed (mid-receipt)."""
        with self._lock:
            self._cover_countdown = dots

    def close_cover(self) -> None:
        with self._lock:
            self._cover_open = False
            self._resume()

    def jam_cutter(self, jammed: bool = True) -> None:
        """An autocutter error: the printer goes offline until cleared (``jam_cutter(False)``)."""
        with self._lock:
            self._cutter_jammed = jammed
            if not jammed:
                self._resume()

    @property
    def state(self) -> PrinterState:
        with self._lock:
            paper_out = self._paper_left is not None and self._paper_left <= 0
            near_end = self._paper_left is not None and self._paper_left <= self.near_end_dots
            stopped = paper_out or self._cover_open or self._cutter_jammed
            return PrinterState(
                online=not stopped,
                cover_open=self._cover_open,
                paper_end_stop=paper_out,
                error=self._cutter_jammed,
                autocutter_error=self._cutter_jammed,
                paper_near_end=near_end or paper_out,
                paper_out=paper_out,
            )

    # ------------------------------------------------------------ what came out

    def image(self) -> Image.Image:
        with self._lock:
            return self.paper.image()

    def receipts(self) -> list[Image.Image]:
        with self._lock:
            return self.paper.receipts()

    def tear_off(self) -> list[Image.Image]:
        """Take the cut-off receipts out of the printer, as a person tears them off: returned, and their
        paper forgotten (what follows the last cut stays). A printer that runs all day (the demo's) keeps
        one receipt's paper, not the day's; ``received`` and ``text_lines`` are the log tests read."""
        with self._lock:
            paper = self.paper
            if not paper.cuts:
                return []
            last = paper.cuts[-1]
            bounds = [0, *paper.cuts]
            torn = [paper.image(paper.strips[a:b]) for a, b in itertools.pairwise(bounds)]
            del paper.strips[:last]
            paper.cuts.clear()
            return torn

    def save_png(self, path: Path) -> Path:
        self.image().save(path, format="PNG")
        return path

    def save_receipts(self, directory: Path, prefix: str = "receipt") -> list[Path]:
        """Each cut-off receipt as ``<prefix>-<n>.png`` in ``directory`` (the demo's receipt folder)."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for number, receipt in enumerate(self.receipts(), start=1):
            path = directory / f"{prefix}-{number}.png"
            receipt.save(path, format="PNG")
            paths.append(path)
        return paths

    @property
    def text_lines(self) -> list[str]:
        with self._lock:
            return list(self.paper.text_lines)

    @property
    def held(self) -> int:
        """Events received but not printed (waiting for paper, a closed cover or a cleared jam)."""
        with self._lock:
            return len(self._held)

    # ------------------------------------------------------------ the printer's firmware

    def _receive(self, data: bytes, parser: es.StreamParser) -> bytes:
        """Run what arrived; return the answers to send back."""
        answers = bytearray()
        with self._lock:
            self.received.extend(data)
            for event in parser.feed(data):
                if isinstance(event, es.StatusRequest):
                    self.status_requests.append(event.n)
                    if event.n in (1, 2, 3, 4):
                        answers.extend(encode_status(Query(event.n), self.state))
                elif self._held or not self._can_run(event):
                    self._hold(event)
                else:
                    self._run(event)
        return bytes(answers)

    def _hold(self, event: es.Event) -> None:
        if (
            not self._held
            and self._paper_left is not None
            and self.paper.height_needed(event) > self._paper_left
        ):
            self._paper_left = 0  # the roll ends under this line: the rest of the paper feeds out blank
        self._held.append(event)

    def _can_run(self, event: es.Event) -> bool:
        if self._cover_open or self._cutter_jammed:
            return False
        needed = self.paper.height_needed(event)
        return self._paper_left is None or needed <= self._paper_left

    def _run(self, event: es.Event) -> None:
        needed = self.paper.height_needed(event)
        self.paper.run(event)
        if self._paper_left is not None:
            self._paper_left = max(0, self._paper_left - needed)
        if self._cover_countdown is not None:
            self._cover_countdown -= needed
            if self._cover_countdown <= 0:
                self._cover_open, self._cover_countdown = True, None

    def _resume(self) -> None:
        while self._held and self._can_run(self._held[0]):
            self._run(self._held.popleft())

    # ------------------------------------------------------------ transports

    def _serve(self) -> None:
        while self._running:
            watch = [self._wake_r, *self._clients]
            if self._master is not None:
                watch.append(self._master)
            if self._listener is not None:
                watch.append(self._listener.fileno())
            try:
                readable, _, _ = select.select(watch, [], [], 0.5)
            except (OSError, ValueError):
                continue
            for fd in readable:
                self._service(fd)

    def _service(self, fd: int) -> None:
        if fd == self._wake_r:
            os.read(self._wake_r, 64)
        elif self._listener is not None and fd == self._listener.fileno():
            client, _ = self._listener.accept()
            self._clients[client.fileno()] = (client, es.StreamParser())
        elif fd == self._master:
            with contextlib.suppress(OSError):
                answer = self._receive(os.read(fd, 65536), self._pty_parser)
                if answer:
                    os.write(fd, answer)
        elif fd in self._clients:
            client, parser = self._clients[fd]
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:  # the host hung up; a new connection starts a new stream
                del self._clients[fd]
                client.close()
                return
            answer = self._receive(data, parser)
            if answer:
                with contextlib.suppress(OSError):
                    client.sendall(answer)
