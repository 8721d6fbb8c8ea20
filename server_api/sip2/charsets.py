"""Which character set a server writes its text in, judged from the bytes of one of its replies.

SIP2 does not say. The probe asks for a test patron's information (63) and reads the raw 64: plain
ASCII cannot tell (use a test patron whose name or address has æ ø å or Sámi letters); valid UTF-8 with
multi-byte letters is UTF-8 (text in Latin-1 or cp850 is almost never valid UTF-8); otherwise each
single-byte candidate is scored by how many of its letters are ones a Nordic library writes and how many
are symbols or control characters no name holds.

Vectors::

    >>> detect_charset("Måret Ánne Sara".encode("utf-8")).charset
    'utf-8'
    >>> detect_charset("Blåbærsyltetøy".encode("cp850")).charset
    'cp850'
    >>> detect_charset("Blåbærsyltetøy".encode("iso-8859-1")).charset
    'iso-8859-1'
    >>> detect_charset(b"Sult").charset is None
    True
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Final

SINGLE_BYTE: Final = ("iso-8859-1", "cp850", "cp1252", "iso-8859-10")
NORDIC_LETTERS: Final = frozenset(
    "æøåÆØÅäöÄÖüÜéÉèáÁàčČđĐŋŊšŠŧŦžŽíÍóÓúÚñ" + "ǥǦǧǩǨǯǮʒƷ"  # Norwegian, Swedish, Finnish, Sámi
)


@dataclass(frozen=True)
class CharsetGuess:
    charset: str | None  # None: the bytes cannot tell (all ASCII)
    evidence: str  # the text as read in that charset (or why nothing can be said)


def _score(text: str) -> int:
    good = sum(1 for c in text if c in NORDIC_LETTERS)
    bad = sum(1 for c in text if not c.isascii() and c not in NORDIC_LETTERS)
    return good * 2 - bad * 3


def detect_charset(data: bytes) -> CharsetGuess:
    """The charset `data` (text of a reply) is most likely in."""
    if data.isascii():
        return CharsetGuess(None, "the reply is plain ASCII: it cannot tell the character set apart")
    try:
        return CharsetGuess("utf-8", data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    scored = []
    for charset in SINGLE_BYTE:
        text = data.decode(charset, errors="replace")
        scored.append((_score(text), -SINGLE_BYTE.index(charset), charset, text))
    _, _, charset, text = max(scored)
    return CharsetGuess(charset, text)


def same_charset(a: str, b: str) -> bool:
    """True if both names mean one codec ("latin-1" and "iso-8859-1", "utf8" and "utf-8")."""
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return a.lower() == b.lower()


__all__ = ["CharsetGuess", "detect_charset", "same_charset"]
