"""What may reach a patron's screen or receipt from a SIP2 reply: validated, deduplicated, capped, clean.

A library system's text is shown as it wrote it, minus what no screen should get: control characters
(C0/C1, and the bidirectional overrides that can reorder a line), runs of whitespace, duplicated lines,
60 KB screen messages. Lists of item ids drop what is not an id (``ARRAY(0x55d0c...)``, a Perl reference
some servers print by mistake, empty entries) and duplicates, and are capped. Each change is noted, so
the caller can log the raw reply for staff (secrets masked) when something was cleaned.

Vectors::

    >>> c = Cleaning()
    >>> c.text("Lånt\\x07 til\\u202e  12.03.2025 ", 40, "AF")
    'Lånt til 12.03.2025'
    >>> c.ids(("1", "ARRAY(0x55d0c8a3b2f0)", "1", " 2 "), "AU")
    ('1', '2')
    >>> c.notes
    ['AF: control characters removed', 'AU: 1 entries that are not ids dropped', 'AU: 1 duplicates dropped']
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

SCREEN_LIMIT: Final = 500  # characters of joined screen message / print line shown
LINE_LIMIT: Final = 200  # characters per AF/AG line
MAX_LINES: Final = 8  # AF/AG lines kept
TEXT_LIMIT: Final = 200  # a title, a name
ID_LIMIT: Final = 64  # an item or patron id
MAX_IDS: Final = 10_000  # ids per list

_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")  # terminal control (ANSI) sequences
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_NOT_AN_ID = re.compile(r"^(?:ARRAY|HASH|SCALAR|CODE|GLOB)\(0x[0-9a-f]+\)$|[\x00-\x1f\x7f|]", re.IGNORECASE)


def _control(char: str) -> bool:
    return char in _BIDI or unicodedata.category(char) == "Cc"


class Cleaning:
    """Cleans the parts of one reply that are shown; `notes` says what was changed (empty: nothing)."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def text(self, value: str | None, limit: int = TEXT_LIMIT, where: str = "text") -> str:
        """One value: control characters become spaces, whitespace collapsed, at most `limit` characters."""
        if not value:
            return ""
        cleaned = _ESCAPE_SEQUENCE.sub(" ", value)
        if any(_control(char) for char in cleaned) or cleaned != value:
            cleaned = "".join(" " if _control(char) else char for char in cleaned)
            self.note(f"{where}: control characters removed")
        cleaned = " ".join(cleaned.split())
        if len(cleaned) > limit:
            self.note(f"{where}: {len(cleaned)} characters cut to {limit}")
            cleaned = cleaned[: limit - 1].rstrip() + "…"
        return cleaned

    def lines(self, values: tuple[str, ...], where: str) -> str:
        """AF/AG lines joined for showing: each cleaned, duplicates and empty lines dropped, capped."""
        kept: list[str] = []
        for value in values[: MAX_LINES * 4]:
            line = self.text(value, LINE_LIMIT, where)
            if line and line not in kept:
                kept.append(line)
        if len(values) > len(kept) and any(v.strip() for v in values):
            dropped = sum(1 for v in values if v.strip()) - len(kept)
            if dropped > 0:
                self.note(f"{where}: {dropped} repeated or surplus lines dropped")
        return self.text(" ".join(kept[:MAX_LINES]), SCREEN_LIMIT, where)

    def ids(self, values: tuple[str, ...], where: str) -> tuple[str, ...]:
        """A list of ids: stripped, non-ids and duplicates dropped, at most `MAX_IDS`."""
        seen: dict[str, None] = {}
        junk = duplicates = 0
        for value in values:
            item = value.strip()
            if not item or len(item) > ID_LIMIT or _NOT_AN_ID.search(item):
                junk += 1
            elif item in seen:
                duplicates += 1
            else:
                seen[item] = None
        if junk:
            self.note(f"{where}: {junk} entries that are not ids dropped")
        if duplicates:
            self.note(f"{where}: {duplicates} duplicates dropped")
        if len(seen) > MAX_IDS:
            self.note(f"{where}: {len(seen)} ids cut to {MAX_IDS}")
        return tuple(seen)[:MAX_IDS]

    def count(self, stated: int, listed: tuple[str, ...], where: str) -> None:
        """Note a count that contradicts its (cleaned) list."""
        if stated != len(listed):
            self.note(f"{where}: the reply says {stated}, its list holds {len(listed)}")


__all__ = ["MAX_IDS", "SCREEN_LIMIT", "Cleaning"]
