"""The station's recent log lines, for a technician who asks for them from the console (`fetch_logs`).

The station logs no patron by design (no names, no PINs, cards only as pseudonyms); what goes out is
filtered once more, line by line, because a library's own words or an exception's text could carry a
number: every run of 5 or more digits (card, patron and item numbers), anything shaped like an e-mail
address and every `key=value` whose key names a patron, card, PIN, password or token is masked. Kept in
memory only (the last `MAX_LINES` lines of this run), never written to disk by this module.
"""

from __future__ import annotations

import collections
import logging
import re
import threading

MAX_LINES = 2000
MAX_CHARACTERS = 150_000  # what one answer may carry (the console takes 200 000)
_SECRET_KEYS = re.compile(
    r"(?i)\b(patron|card|pin|password|passphrase|token|name|email|borrower)(\w*)(\s*[=:]\s*)(\S+)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_NUMBER = re.compile(r"(?<![\w-])\d{5,}(?![\w-])")
_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def without_patron_data(line: str) -> str:
    """The line with numbers, e-mail addresses and patron-ish values masked."""
    line = _EMAIL.sub("<e-mail>", line)
    line = _SECRET_KEYS.sub(lambda m: f"{m[1]}{m[2]}{m[3]}<hidden>", line)
    return _NUMBER.sub("<number>", line)


class RecentLogs(logging.Handler):
    """A ring of the last log lines (INFO and above), filtered when read."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        super().__init__(logging.INFO)
        self._lines: collections.deque[str] = collections.deque(maxlen=max_lines)
        self._guard = threading.Lock()  # drivers log from worker threads

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = _FORMAT.format(record)
        except Exception:  # a broken log call must not break the station
            return
        with self._guard:
            self._lines.append(text)

    def text(self) -> str:
        """The recent lines, newest last, without patron data, at most `MAX_CHARACTERS`."""
        with self._guard:
            lines = list(self._lines)
        out = "\n".join(without_patron_data(line) for line in lines)
        return out[-MAX_CHARACTERS:]

    def install(self) -> RecentLogs:
        """Listen to every logger of the process (once)."""
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)
        return self

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)


__all__ = ["MAX_LINES", "RecentLogs", "without_patron_data"]
