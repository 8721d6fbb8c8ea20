"""The ISIL compaction of ISO 28560-2 Annex C (owner library and ILL borrowing institution).

An ISIL (ISO 15511: letters, digits, ``-``, ``/``, ``:``; at most 16 characters) is packed with three
character sets, starting in upper case, most significant bit first::

    upper case, 5 bits  0 '-'  1..26 'A'..'Z'  27 ':'  28/29 latch/shift lower  30/31 latch/shift digits
    lower case, 5 bits  0 '-'  1..26 'a'..'z'  27 '/'  28/29 latch/shift upper  30/31 latch/shift digits
    digits, 4 bits      0..9   10 '-'  11 ':'  12/13 latch/shift upper  14/15 latch/shift lower

A shift changes the set for one character, a latch until the next latch. The last byte is filled with
1-bits, which a decoder sees as a shift code with too few bits after it. The tag's precursor says
"application-defined compaction" (0): ISO 28560-2 defines it for these data elements.

Vectors (Annex C and D): ``DE-Heu1`` is ``21 40 8E 16 BF 1F`` (D E - H, latch lower, e u, shift digits, 1,
filler 1111); ``US-InU-Mu`` is ``AC C0 9E BA A0 6F 6B`` (shift lower for each single lower-case letter).
The encoder changes sets the way Annex C's examples do (a shift for one character, a latch for more;
``CH-000134-1`` stays in upper case for ``CH-`` and latches to digits for ``000134-1``), which reproduces
both vectors. The positions of ``:`` and ``/`` come from an open implementation and are not
covered by a published vector.
"""

from __future__ import annotations

import enum

from drivers.tags.errors import TagEncodeError

__all__ = ["ISIL_CHARACTERS", "ISIL_MAX_LENGTH", "decode_isil", "encode_isil", "is_isil_text"]


class _Set(enum.IntEnum):
    UPPER = 0
    LOWER = 1
    DIGITS = 2


_WIDTH = {_Set.UPPER: 5, _Set.LOWER: 5, _Set.DIGITS: 4}
_CHARACTERS = {
    _Set.UPPER: "-ABCDEFGHIJKLMNOPQRSTUVWXYZ:",
    _Set.LOWER: "-abcdefghijklmnopqrstuvwxyz/",
    _Set.DIGITS: "0123456789-:",
}
# code -> (target set, is a latch) for the control codes of each set
_CONTROLS = {
    _Set.UPPER: {
        28: (_Set.LOWER, True),
        29: (_Set.LOWER, False),
        30: (_Set.DIGITS, True),
        31: (_Set.DIGITS, False),
    },
    _Set.LOWER: {
        28: (_Set.UPPER, True),
        29: (_Set.UPPER, False),
        30: (_Set.DIGITS, True),
        31: (_Set.DIGITS, False),
    },
    _Set.DIGITS: {
        12: (_Set.UPPER, True),
        13: (_Set.UPPER, False),
        14: (_Set.LOWER, True),
        15: (_Set.LOWER, False),
    },
}
_CODE_FOR = {
    (current, target, latch): code
    for current, controls in _CONTROLS.items()
    for code, (target, latch) in controls.items()
}

ISIL_CHARACTERS = frozenset("".join(_CHARACTERS.values()))
ISIL_MAX_LENGTH = 16


def is_isil_text(text: str) -> bool:
    """Can ``text`` be written in the ISIL compaction (ISO 15511 characters, 1..16 of them)?"""
    return 1 <= len(text) <= ISIL_MAX_LENGTH and all(char in ISIL_CHARACTERS for char in text)


def encode_isil(text: str) -> bytes:
    """The ISIL compaction of ``text``; raises ``TagEncodeError`` for characters an ISIL cannot hold."""
    if not is_isil_text(text):
        raise TagEncodeError(
            f"{text!r} is not an ISIL (1..{ISIL_MAX_LENGTH} of the letters, digits, '-', '/' and ':')"
        )
    bits = 0
    count = 0
    for value, width in _codes(text):
        bits = (bits << width) | value
        count += width
    filler = (-count) % 8
    bits = (bits << filler) | ((1 << filler) - 1)
    return bits.to_bytes((count + filler) // 8, "big")


def _codes(text: str) -> list[tuple[int, int]]:
    """(code, width) pairs for ``text`` the way Annex C's examples encode: stay in the latched set while
    it holds the character; otherwise change to the set that holds the longest run from here, with a
    shift for a run of one character and a latch for longer runs."""
    latched = _Set.UPPER
    codes: list[tuple[int, int]] = []
    for i, char in enumerate(text):
        if char in _CHARACTERS[latched]:
            codes.append((_CHARACTERS[latched].index(char), _WIDTH[latched]))
            continue
        runs = {target: _run(text, i, target) for target in _Set if target is not latched}
        target = max(runs, key=lambda candidate: runs[candidate])
        latch = runs[target] > 1
        codes.append((_CODE_FOR[(latched, target, latch)], _WIDTH[latched]))
        codes.append((_CHARACTERS[target].index(char), _WIDTH[target]))
        if latch:
            latched = target
    return codes


def _run(text: str, start: int, target: _Set) -> int:
    """How many characters from ``start`` on the set ``target`` holds."""
    count = 0
    while start + count < len(text) and text[start + count] in _CHARACTERS[target]:
        count += 1
    return count


def decode_isil(data: bytes, *, strict: bool = False) -> str:
    """The ISIL in ``data``; raises ``ValueError`` when the bits are not an ISIL compaction.

    ``strict``: the filler must be 1-bits, as the standard writes it.
    """
    bits = int.from_bytes(data, "big")
    total = len(data) * 8
    position = 0
    latched = _Set.UPPER
    shifted: _Set | None = None
    chars: list[str] = []
    while True:
        active = shifted if shifted is not None else latched
        width = _WIDTH[active]
        if total - position < width:
            break
        code = (bits >> (total - position - width)) & ((1 << width) - 1)
        if code < len(_CHARACTERS[active]):
            chars.append(_CHARACTERS[active][code])
            shifted = None
        elif shifted is not None:
            raise ValueError("a shift code follows another shift code")
        else:
            target, latch = _CONTROLS[active][code]
            remaining = total - position
            if remaining - width < _WIDTH[target]:
                break  # the filler (1-bits read as a control code with nothing after it)
            if latch:
                latched = target
            else:
                shifted = target
        position += width
    filler = total - position
    if strict and filler and (bits & ((1 << filler) - 1)) != (1 << filler) - 1:
        raise ValueError("the filler after the ISIL is not all 1-bits")
    if strict and filler >= 8:
        raise ValueError("more than a byte of filler after the ISIL")
    if not chars:
        raise ValueError("no characters")
    return "".join(chars)
