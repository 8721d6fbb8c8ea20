"""Is the station's clock trustworthy?

A Raspberry Pi has no battery-backed clock: after a power cut it starts from the last saved time until
NTP answers, which on a bookmobile can be hours. Every journal entry records whether the clock was
synchronised when the action happened, so staff can tell which replayed dates to doubt.

The kernel knows: `ntp_adjtime()` (read-only with modes = 0) returns TIME_ERROR while the clock is not
synchronised (STA_UNSYNC), whatever daemon (systemd-timesyncd, chrony, ntpd) disciplines it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

TIME_ERROR = 5
_TIMEX_SIZE = 512  # struct timex is 208 bytes on 64-bit Linux; room to spare, the kernel only reads modes


def kernel_clock_synchronised() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        state = libc.ntp_adjtime(ctypes.create_string_buffer(_TIMEX_SIZE))
    except (OSError, AttributeError):
        return False  # cannot tell: do not claim a trustworthy time
    return bool(state >= 0 and state != TIME_ERROR)


def clock_check(trust: str) -> Callable[[], bool]:
    """`kernel`: ask the kernel each time; `always`: trust it (simulators, machines with an RTC)."""
    if trust == "always":
        return lambda: True
    if trust == "kernel":
        return kernel_clock_synchronised
    raise ValueError(f"clock trust must be 'kernel' or 'always', not {trust!r}")
