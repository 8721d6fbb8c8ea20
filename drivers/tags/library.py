"""Library identifiers as tags, library systems and configuration files write them, made comparable.

The same Norwegian library appears as ``2030000`` (its number in Base Bibliotek, as NOR-RFID tags hold
it), ``02030000`` (the number padded to 8 digits by some systems), ``NO-2030000`` (its ISIL, as ISO
28560-2 tags and SIP2 institution ids hold it), and with its leading zeros lost (``30000`` for
``0030000``) where a spreadsheet took it for a number. ``normalise_library_id`` turns all of them into one
form, the ISIL (``NO-2030000``); ``same_library`` compares two identifiers that way; ``library_number``
gives the number alone for showing next to a country.

The rules: surrounding blanks go; a prefix of 1-4 letters before the first ``-`` is the ISIL prefix (a
country code such as ``NO``, or one of the non-country prefixes) and is written in capitals; an
identifier without a prefix gets ``country``'s (when one is given); a Norwegian identifier of digits is
the 7-digit library number (leading zeros added or removed). ISO 15511 treats an ISIL as case-insensitive,
so ``same_library`` compares ``DE-Heu1`` and ``DE-HEU1`` as equal (the form shown keeps the case given).
"""

from __future__ import annotations

__all__ = ["NORWAY", "library_number", "normalise_library_id", "same_library"]

NORWAY = "NO"
_NORWEGIAN_NUMBER_DIGITS = 7


def _split(value: str, country: str) -> tuple[str, str]:
    value = value.strip()
    prefix, dash, rest = value.partition("-")
    if dash and 1 <= len(prefix) <= 4 and prefix.isascii() and prefix.isalpha() and rest:
        return prefix.upper(), rest.strip()
    return country.strip().upper(), value


def _local(prefix: str, local: str) -> str:
    if prefix == NORWAY and local.isascii() and local.isdigit() and int(local) < 10**_NORWEGIAN_NUMBER_DIGITS:
        return f"{int(local):0{_NORWEGIAN_NUMBER_DIGITS}d}"
    return local


def normalise_library_id(value: str, country: str = "") -> str:
    """One form for a library identifier: ``NO-2030000`` for ``2030000``, ``02030000`` (with ``country``
    ``NO``) and ``no-02030000``. Without a prefix and without ``country`` the identifier is returned as
    given (only blanks removed); an empty value stays empty."""
    prefix, local = _split(value, country)
    if not local:
        return ""
    local = _local(prefix, local)
    return f"{prefix}-{local}" if prefix else local


def same_library(first: str, second: str, country: str = "") -> bool:
    """Do ``first`` and ``second`` name the same library? An identifier without a prefix takes ``country``,
    or else the other one's prefix (``2030000`` is ``NO-2030000``). Two empty identifiers are not a match:
    "no library given" is not a library."""
    if not country:
        country = _split(first, "")[0] or _split(second, "")[0]
    a, b = normalise_library_id(first, country), normalise_library_id(second, country)
    return bool(a) and a.casefold() == b.casefold()


def library_number(value: str, country: str = "") -> str:
    """The identifier without its prefix, normalised: ``2030000`` for ``NO-02030000``."""
    prefix, local = _split(value, country)
    return _local(prefix, local)
