"""The language a library system keeps for a patron, as one of the station's language codes.

SIP2's patron information response (64) has a three-character language field with the standard's own
numbers (000 unknown, 001 English, 006 Swedish, 007 Finnish, 012 Norwegian, 015 Russian, 024 United
Kingdom, ...). The standard has no number for the Sámi languages or Kven, so library systems that know them
put an ISO 639 code in the same field ("sme" Northern Sámi, "smj", "sma", "sms", "fkv"); some send ISO
639 codes for every language ("nob", "fin", "sv"). Both are read; anything else is no preference.
"""

from __future__ import annotations

# SIP2 2.00, "language" (fixed field, 3 digits): only the numbers of languages the station has.
SIP2_LANGUAGE_NUMBERS: dict[str, str] = {
    "001": "en",  # English
    "006": "sv",  # Swedish
    "007": "fi",  # Finnish
    "012": "nb",  # Norwegian: bokmål, the written standard most patrons read
    "015": "ru",  # Russian
    "024": "en",  # United Kingdom
}

# ISO 639-1 and 639-2/3 codes (and the macrolanguage "no"/"nor") -> the station's codes.
ISO_639: dict[str, str] = {
    "nb": "nb",
    "nob": "nb",
    "no": "nb",
    "nor": "nb",
    "nn": "nn",
    "nno": "nn",
    "se": "se",
    "sme": "se",
    "smj": "smj",
    "sma": "sma",
    "sms": "sms",
    "fkv": "fkv",
    "fi": "fi",
    "fin": "fi",
    "sv": "sv",
    "swe": "sv",
    "ru": "ru",
    "rus": "ru",
    "en": "en",
    "eng": "en",
}


def patron_language(code: str, offered: frozenset[str]) -> str | None:
    """The station's code for the library system's `code` when the station offers it, else None.
    "012" -> "nb", "sme" -> "se", "nb-NO" -> "nb"; "000", "" or a language not offered -> None."""
    value = code.strip().lower().replace("_", "-").split("-")[0]
    found = SIP2_LANGUAGE_NUMBERS.get(value) or ISO_639.get(value)
    return found if found in offered else None
