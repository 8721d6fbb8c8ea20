"""Why a library system said no, read from its reply: structured fields first, then its own words.

SIP2 has no reason codes. The structured hints some systems add come first: ``CQ N`` (the PIN was wrong,
Koha and others add it to 12/30) and ``BL N`` (no such patron; Koha's refused 12 carries it). Then the
screen message (AF) is matched against phrases in the languages the Nordic library systems answer in:
Norwegian (nb/nn), Swedish, Finnish and English (Koha's and Evergreen's own English texts, such as
``Invalid Item`` and ``Item checked out to another patron``). A profile may add its own patterns, checked
before these, and choose the languages.

A text no rule maps is counted (`RefusalReader.unmapped`): the probe and the statistics show them so the
patterns can grow. Digits are folded to ``#`` before counting, so "max 5 loans" and "max 6 loans" are one
text, and a patron's card number never lands in the counter.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

from server_api.circulation import RefusalReason

from .messages import Message

LANGUAGES: Final = ("nb", "sv", "fi", "en")
MAX_COUNTED_TEXTS: Final = 200  # distinct unmapped texts kept (a misbehaving server cannot grow it)

R = RefusalReason
# First match wins, in this order; each reason's phrases per language.
PHRASES: Final[tuple[tuple[RefusalReason, dict[str, str]], ...]] = (
    (
        R.PIN_INVALID,
        {
            "nb": r"\bpin\b|passord|personlig kode",
            "sv": r"pin-?kod|lösenord",
            "fi": r"tunnusluku|salasana|\bpin\b",
            "en": r"\bpin\b|password",
        },
    ),
    (
        R.PATRON_NOT_FOUND,
        {
            "nb": r"ukjent låner|låner(en)? finnes ikke|ugyldig lånekort|ukjent lånekort",
            "sv": r"okänd låntagare|låntagare(n)? finns inte|ogiltigt lånekort",
            "fi": r"tuntematon asiakas|asiakasta ei löydy|virheellinen kortti|tuntematon kortti",
            "en": r"patron not found|invalid patron|unknown patron|invalid card|patron .*not found",
        },
    ),
    (
        R.ON_HOLD_FOR_ANOTHER,
        {
            "nb": r"reservert",
            "sv": r"reserver(ad|at|ade)",
            "fi": r"varattu|varaus",
            "en": r"on hold|reserved|hold shelf for another",
        },
    ),
    (
        R.ALREADY_ON_LOAN,
        {
            "nb": r"allerede utlånt|utlånt til en annen",
            "sv": r"redan utlån(ad|at)|utlån(ad|at) till (en )?annan",
            "fi": r"jo lainassa|lainassa toisella",
            "en": r"already (checked out|on loan)|checked out to another|on loan to another",
        },
    ),
    (
        R.LIMIT_REACHED,
        {
            "nb": r"\bmaks\b|for mange lån|lånegrense",
            "sv": r"max(imalt)? antal|för många lån|lånegräns",
            "fi": r"liikaa lainoja|lainaraja|enimmäismäärä",
            "en": r"limit|too many|maximum",
        },
    ),
    (
        R.PATRON_BLOCKED,
        {
            "nb": r"sperret|blokkert|gebyr|utestående",
            "sv": r"spärr|blocker|avgift|skuld",
            "fi": r"lainauskielto|estetty|maksu",
            "en": r"blocked|debarred|barred|fines|fees|expired",
        },
    ),
    (
        R.ITEM_NOT_FOR_LOAN,
        {
            "nb": r"ikke til utlån|referanse",
            "sv": r"(ej|inte) (till|för) utlån|referens",
            "fi": r"ei lainata|ei lainattavissa|käsikirjasto",
            "en": r"not for loan|not loanable|restricted|reference",
        },
    ),
    (
        R.ITEM_LOST,
        {
            "nb": r"\btapt\b|savnet",
            "sv": r"förlorad|borttappad|saknas",
            "fi": r"kadonnut|kadoksissa",
            "en": r"\blost\b|\bmissing\b|withdrawn",
        },
    ),
    (
        R.ITEM_NOT_FOUND,
        {
            "nb": r"ukjent eksemplar|eksemplaret finnes ikke|ukjent strekkode",
            "sv": r"okänt exemplar|exemplaret finns inte|okänd streckkod",
            "fi": r"tuntematon nide|nidettä ei löydy|virheellinen nide",
            "en": r"invalid item|item not found|unknown item|no such item|item barcode",
        },
    ),
    (
        R.NOT_ON_LOAN,
        {
            "nb": r"ikke utlånt",
            "sv": r"(ej|inte) utlånad|(ej|inte) utlånat",
            "fi": r"ei (ole )?lainassa",
            "en": r"not (checked out|on loan)",
        },
    ),
    (
        R.RENEWAL_REFUSED,
        {
            "nb": r"forny",
            "sv": r"förny|omlån|låna om",
            "fi": r"uusi",
            "en": r"renew",
        },
    ),
)


def compile_patterns(
    languages: tuple[str, ...] = LANGUAGES, extra: tuple[tuple[str, str], ...] = ()
) -> tuple[tuple[RefusalReason, re.Pattern[str]], ...]:
    """The patterns to try, in order: a profile's own (reason value, regex) first, then the phrases of
    `languages`."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise ValueError(f"no refusal phrases for language(s) {', '.join(unknown)}; known: {LANGUAGES}")
    patterns = [(RefusalReason(reason), re.compile(rx, re.IGNORECASE)) for reason, rx in extra]
    for reason, by_language in PHRASES:
        joined = "|".join(f"(?:{by_language[lang]})" for lang in languages)
        patterns.append((reason, re.compile(joined, re.IGNORECASE)))
    return tuple(patterns)


def structured_reason(reply: Message) -> RefusalReason | None:
    """The reason the reply's own fields give, if any."""
    if reply.get_extra("CQ") == "N" or getattr(reply, "valid_patron_password", None) == "N":
        return RefusalReason.PIN_INVALID
    if reply.get_extra("BL") == "N" or getattr(reply, "valid_patron", None) == "N":
        return RefusalReason.PATRON_NOT_FOUND
    return None


def counted_form(text: str) -> str:
    """The text as it is counted: digits folded, whitespace collapsed, at most 200 characters."""
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text)).strip()[:200]


class RefusalReader:
    """Reads refusal reasons for one connection's profile and counts the texts it could not map."""

    def __init__(
        self, languages: tuple[str, ...] = LANGUAGES, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.patterns = compile_patterns(languages, extra)
        self._unmapped: Counter[str] = Counter()

    def reason(self, reply: Message, screen_message: str, default: RefusalReason) -> RefusalReason:
        """Structured fields first, then the words; `default` (counted as unmapped) when neither says."""
        found = structured_reason(reply)
        if found is not None:
            return found
        for reason, pattern in self.patterns:
            if pattern.search(screen_message):
                return reason
        self._count(screen_message)
        return default

    def unmapped(self) -> list[tuple[str, int]]:
        """Texts no rule mapped, most frequent first, with how often they came."""
        return self._unmapped.most_common()

    def _count(self, text: str) -> None:
        key = counted_form(text)
        if not key:
            return
        if key in self._unmapped or len(self._unmapped) < MAX_COUNTED_TEXTS:
            self._unmapped[key] += 1


__all__ = ["LANGUAGES", "PHRASES", "RefusalReader", "compile_patterns", "counted_form", "structured_reason"]
