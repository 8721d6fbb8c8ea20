"""Is a headset plugged in? Three sources, one protocol, and a watcher that reports changes.

The Raspberry Pi 5 has no audio jack, so a kiosk's headset goes into a USB sound card. Linux tells a jack's
state in one of two ways, depending on the card's driver:

- ALSA: a boolean control of the card's CARD interface named "… Jack" ("Headphone Jack", "Headset Mic
  Jack"; HDA codecs and USB cards whose firmware reports the jack). Read with `amixer -c CARD cget`, the
  command line Debian's alsa-utils support (as `aplay` plays the sound): `AlsaJack`.
- evdev: an input device with the switch SW_HEADPHONE_INSERT (ASoC boards, some codecs), read with the
  EVIOCGSW ioctl on /dev/input/event*: `EvdevJack`.

`SimulatedJack` is plugged in and out by tests and the demo. `JackWatcher` polls a source in a worker
thread and calls back on the loop when the state changes; a source that fails is logged once (with what
to check) and retried, never fatal: speech still works through the loudspeaker.

    jack = open_jack("alsa", card="Device")          # or open_jack("evdev", device=...), ("sim")
    watcher = JackWatcher(jack, on_change=lambda plugged: ...)
    await watcher.start(); ...; await watcher.stop()
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

AMIXER = "amixer"
SW_HEADPHONE_INSERT = 0x02  # linux/input-event-codes.h
SW_MAX = 0x10
# EVIOCGSW(len) = _IOC(_IOC_READ, 'E', 0x1b, len): read the state of every switch into a bit array
_IOC_READ = 2


def eviocgsw(length: int) -> int:
    return (_IOC_READ << 30) | (length << 16) | (ord("E") << 8) | 0x1B


class JackError(Exception):
    """The jack's state cannot be read; the message says what to check."""


@runtime_checkable
class HeadsetJack(Protocol):
    def plugged(self) -> bool:
        """True while a headset is plugged in (blocking: call it in a thread). Raises JackError."""
        ...


class SimulatedJack:
    """A jack for tests and the demo: `plug()` and `unplug()`."""

    def __init__(self, plugged: bool = False) -> None:
        self._plugged = plugged

    def plug(self) -> None:
        self._plugged = True

    def unplug(self) -> None:
        self._plugged = False

    def plugged(self) -> bool:
        return self._plugged


_CONTROL = re.compile(r"^numid=(\d+),iface=(\w+),name='(.*)'$")
_VALUE = re.compile(r"^\s*:\s*values=(\w+)")


def headphone_control(names: list[str]) -> str:
    """The card's headphone or headset jack among its control names, "" when it has none."""
    jacks = [n for n in names if n.endswith(" Jack") and re.search(r"Head(phone|set)", n)]
    plain = [n for n in jacks if "Mic" not in n]
    return (plain or jacks or [""])[0]


class AlsaJack:
    """A jack control of ALSA card `card` ("Device", or its number), read with amixer."""

    def __init__(self, card: str, control: str = "", amixer: str = AMIXER, timeout: float = 3.0) -> None:
        if shutil.which(amixer) is None:
            raise JackError(f"{amixer} is not installed (apt-get install alsa-utils): no headset sensing")
        self.card, self.control, self._amixer, self._timeout = card, control, amixer, timeout

    def _run(self, *args: str) -> str:
        command = [self._amixer, "-c", self.card, *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=self._timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise JackError(f"{' '.join(command)}: {error}") from error
        if done.returncode != 0:
            raise JackError(
                f"sound card {self.card!r}: {done.stderr.strip() or 'amixer failed'} "
                "(aplay -l lists the cards; [speech] jack_card)"
            )
        return done.stdout

    def find_control(self) -> str:
        names = [m.group(3) for line in self._run("controls").splitlines() if (m := _CONTROL.match(line))]
        found = headphone_control(names)
        if not found:
            raise JackError(
                f"sound card {self.card!r} has no headphone jack control "
                f"(it has: {', '.join(names) or 'none'}); "
                'set [speech] jack_control, or jack = "evdev" if the board reports the jack as a switch'
            )
        return found

    def plugged(self) -> bool:
        if not self.control:
            self.control = self.find_control()
        for line in self._run("cget", f"iface=CARD,name={self.control}").splitlines():
            found = _VALUE.match(line)
            if found:
                return found.group(1) in ("on", "1", "true")
        raise JackError(f"sound card {self.card!r}: control {self.control!r} gave no value")


class EvdevJack:
    """The SW_HEADPHONE_INSERT switch of the input device at `path`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def plugged(self) -> bool:
        buffer = array.array("B", bytes(SW_MAX // 8 + 1))
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as error:
            raise JackError(
                f"{self.path}: {error.strerror} (the kiosk user must be in group input; evtest lists devices)"
            ) from error
        try:
            fcntl.ioctl(fd, eviocgsw(len(buffer)), buffer, True)
        except OSError as error:
            raise JackError(f"{self.path}: not an input device with switches ({error.strerror})") from error
        finally:
            os.close(fd)
        return switch_on(bytes(buffer), SW_HEADPHONE_INSERT)


def switch_on(bits: bytes, switch: int) -> bool:
    """Is `switch` set in the EVIOCGSW bit array (bit n of byte n // 8)?"""
    return bool(bits[switch // 8] >> (switch % 8) & 1) if switch // 8 < len(bits) else False


def open_jack(kind: str, card: str = "", control: str = "", device: str = "") -> HeadsetJack | None:
    """ "none" -> None, "alsa", "evdev" or "sim" (`[speech] jack`). Raises JackError, ValueError."""
    if kind == "none":
        return None
    if kind == "alsa":
        return AlsaJack(card, control)
    if kind == "evdev":
        return EvdevJack(device)
    if kind == "sim":
        return SimulatedJack()
    raise ValueError(f"unknown jack sensing {kind!r}: use none, alsa, evdev or sim")


class JackWatcher:
    """Polls `jack` every `interval` seconds in a thread; `on_change(plugged)` on the loop at each change
    (and once at start when a headset is plugged in already)."""

    def __init__(self, jack: HeadsetJack, on_change: Callable[[bool], object], interval: float = 0.5) -> None:
        self.jack, self.on_change, self.interval = jack, on_change, interval
        self.state = False
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    async def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                now = await asyncio.to_thread(self.jack.plugged)
            except JackError as error:
                if not self._failing:
                    log.warning("headset sensing: %s", error)
                self._failing = True
            else:
                self._failing = False
                if now != self.state:
                    self.state = now
                    self.on_change(now)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = [
    "SW_HEADPHONE_INSERT",
    "AlsaJack",
    "EvdevJack",
    "HeadsetJack",
    "JackError",
    "JackWatcher",
    "SimulatedJack",
    "eviocgsw",
    "headphone_control",
    "open_jack",
    "switch_on",
]
