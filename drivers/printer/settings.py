"""Printer settings: one validated value the kiosk's ``[printer]`` section can wrap.

Every field has a range; ``PrinterSettings(...)`` raises ``ValueError`` saying which value is wrong and
what is allowed, so a wrong configuration stops the kiosk at start-up, not at the first patron's receipt.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["BAUD_RATES", "DOTS_PER_LINE", "Connection", "FlowControl", "PrinterSettings"]

DOTS_PER_LINE = (384, 512, 576)
"""58 mm paper at 203 dpi; 80 mm paper at 180 dpi (TM-T88 IV/V); 80 mm at 203 dpi (TM-T20, TM-T88 VI)."""
BAUD_RATES = (2400, 4800, 9600, 19200, 38400, 57600, 115200)


class Connection(enum.StrEnum):
    FILE = "file"  # the receipt as PNG and text files (no paper): FilePrinter
    USB = "usb"  # python-escpos over libusb (vendor and product id)
    SERIAL = "serial"  # a serial port (RS-232, USB serial adapter, the simulator's pty)
    NETWORK = "network"  # raw TCP, usually port 9100
    DEVICE = "device"  # a character device written blindly (/dev/usb/lp0): no status


class FlowControl(enum.StrEnum):
    NONE = "none"
    RTSCTS = "rtscts"
    DSRDTR = "dsrdtr"
    XONXOFF = "xonxoff"


@dataclass(frozen=True)
class PrinterSettings:
    """How to reach the printer and what it can do.

    ``profile`` is a python-escpos printer profile (``TM-T88V``, ``TM-T20II``, ``default``...);
    ``code_pages`` lists the printer's code pages to use for text, best first (a line goes out in the
    first one that has all its letters, else as a raster image); ``dots_per_line`` is the printable width.
    """

    connection: Connection = Connection.FILE
    directory: Path = Path("var/receipts")  # FILE
    device: str = ""  # SERIAL (/dev/serial/by-id/...), DEVICE (/dev/usb/lp0)
    host: str = ""  # NETWORK
    port: int = 9100  # NETWORK
    usb_vendor_id: int = 0  # USB, e.g. 0x04B8 (Epson)
    usb_product_id: int = 0  # USB, e.g. 0x0202 (TM-T88)
    baudrate: int = 38400  # SERIAL
    flow_control: FlowControl = FlowControl.RTSCTS  # SERIAL
    profile: str = "TM-T88V"
    code_pages: tuple[str, ...] = ("CP865",)
    dots_per_line: int = 512
    timeout: float = 3.0  # seconds to wait for a status answer or a connection
    cut: str = "partial"  # "partial", "full" or "none" (printers without a cutter, tear bar only)
    status: bool = True  # ask the printer's real-time status (off: printers that do not answer DLE EOT)

    def __post_init__(self) -> None:
        object.__setattr__(self, "connection", _choice(Connection, self.connection, "connection"))
        object.__setattr__(self, "flow_control", _choice(FlowControl, self.flow_control, "flow_control"))
        object.__setattr__(self, "directory", Path(self.directory))
        object.__setattr__(self, "code_pages", tuple(page.upper() for page in self.code_pages))
        self._check_connection()
        self._check_printer()

    def _check_connection(self) -> None:
        if self.connection in (Connection.SERIAL, Connection.DEVICE) and not self.device:
            raise ValueError(f"printer connection {self.connection.value} needs device = the device path")
        if self.connection is Connection.NETWORK and not self.host:
            raise ValueError("printer connection network needs host = the printer's address")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"printer port must be 1 to 65535, got {self.port}")
        if self.connection is Connection.USB and not (
            0 < self.usb_vendor_id <= 0xFFFF and 0 < self.usb_product_id <= 0xFFFF
        ):
            raise ValueError(
                "printer connection usb needs usb_vendor_id and usb_product_id (as `lsusb` shows them, "
                "e.g. 0x04b8 and 0x0202)"
            )
        if self.baudrate not in BAUD_RATES:
            raise ValueError(f"printer baudrate must be one of {BAUD_RATES}, got {self.baudrate}")
        if not 0.1 <= self.timeout <= 60:
            raise ValueError(f"printer timeout must be 0.1 to 60 seconds, got {self.timeout}")

    def _check_printer(self) -> None:
        from drivers.printer.codepages import known_code_pages, known_profiles, profile_width

        if self.profile not in known_profiles():
            raise ValueError(
                f"unknown printer profile {self.profile!r}; known: {', '.join(sorted(known_profiles()))}"
            )
        if not self.code_pages:
            raise ValueError("list at least one code page (e.g. CP865 for Nordic letters)")
        available = known_code_pages(self.profile)
        for page in self.code_pages:
            if page not in available:
                raise ValueError(
                    f"printer profile {self.profile} has no code page {page}; it has "
                    f"{', '.join(sorted(available))}"
                )
        if self.dots_per_line not in DOTS_PER_LINE:
            raise ValueError(f"dots_per_line must be one of {DOTS_PER_LINE}, got {self.dots_per_line}")
        widest = profile_width(self.profile)
        if widest is not None and self.dots_per_line > widest:
            raise ValueError(
                f"printer profile {self.profile} prints at most {widest} dots per line, "
                f"dots_per_line is {self.dots_per_line}"
            )
        if self.cut not in ("partial", "full", "none"):
            raise ValueError(f"cut must be partial, full or none, got {self.cut!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> PrinterSettings:
        """From a configuration table (TOML): the field names; USB ids as numbers or "0x04b8" text,
        code_pages as a list or one name. Unknown keys are refused (a typo must not be ignored)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"unknown [printer] keys: {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        parsed: dict[str, Any] = dict(values)
        for key in ("usb_vendor_id", "usb_product_id"):
            if isinstance(parsed.get(key), str):
                parsed[key] = _number(key, str(parsed[key]))
        if isinstance(parsed.get("code_pages"), str):
            parsed["code_pages"] = (parsed["code_pages"],)
        return cls(**parsed)

    @property
    def columns(self) -> int:
        """Characters per line in font A (12 dots wide)."""
        return self.dots_per_line // 12

    def describe(self) -> str:
        """Where the printer is, for reports and logs (no secrets in printer settings)."""
        where = {
            Connection.FILE: str(self.directory),
            Connection.USB: f"{self.usb_vendor_id:04x}:{self.usb_product_id:04x}",
            Connection.SERIAL: f"{self.device} at {self.baudrate} baud",
            Connection.NETWORK: f"{self.host}:{self.port}",
            Connection.DEVICE: self.device,
        }[self.connection]
        return f"{self.connection.value} {where} ({self.profile}, {self.dots_per_line} dots)"


_E = TypeVar("_E", bound=enum.StrEnum)


def _number(name: str, text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(f"printer {name} must be a number such as 0x04b8, got {text!r}") from None


def _choice(kind: type[_E], value: object, name: str) -> _E:
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"printer {name} must be one of {allowed}, got {value!r}") from None
