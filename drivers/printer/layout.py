"""Receipt and slip layouts as data, one ``LibraryLayout`` per library.

What a library puts on paper (logo, header, opening hours, footer, the QR code to the patron's account
page, how much of a hold patron a slip may show) is configuration; the words ("Due", "Returned") come
from the kiosk's translations as ``Labels``. The functions below build ``Receipt`` objects; every printer
renders those.

Dates are printed numerically (2025-04-04) so a receipt reads the same in every language.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from drivers.printer.receipt import Receipt, ReceiptKind, ReceiptLine

__all__ = [
    "HoldPatronPolicy",
    "HoldPatronShown",
    "Labels",
    "LibraryLayout",
    "LoanLine",
    "RenewalLine",
    "ReturnLine",
    "hold_slip",
    "loan_receipt",
    "renewal_receipt",
    "return_receipt",
    "transit_slip",
]


class HoldPatronShown(enum.StrEnum):
    """How much of the patron a hold-shelf slip shows (slips lie on open shelves)."""

    NOTHING = "nothing"
    INITIALS = "initials"
    LAST_DIGITS = "last_digits"
    INITIALS_AND_LAST_DIGITS = "initials_and_last_digits"
    FULL_NAME = "full_name"
    NAME_AND_CARD = "name_and_card"


@dataclass(frozen=True)
class HoldPatronPolicy:
    shown: HoldPatronShown = HoldPatronShown.INITIALS_AND_LAST_DIGITS
    last_digits: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "shown", HoldPatronShown(self.shown))
        if not 1 <= self.last_digits <= 8:
            raise ValueError(f"hold slips show 1 to 8 last digits of the card, got {self.last_digits}")

    def label(self, name: str, card: str) -> str:
        """The patron as this library allows a slip to show them ("" if nothing may be shown).

        >>> HoldPatronPolicy().label("Ánde Ŋuolja", "23900012345678")
        'Á. Ŋ. …5678'
        >>> HoldPatronPolicy(HoldPatronShown.INITIALS).label("Karen-Anne Sara", "1")
        'K.-A. S.'
        """
        initials = _initials(name)
        tail = f"…{card[-self.last_digits :]}" if card else ""
        parts = {
            HoldPatronShown.NOTHING: [],
            HoldPatronShown.INITIALS: [initials],
            HoldPatronShown.LAST_DIGITS: [tail],
            HoldPatronShown.INITIALS_AND_LAST_DIGITS: [initials, tail],
            HoldPatronShown.FULL_NAME: [name.strip()],
            HoldPatronShown.NAME_AND_CARD: [name.strip(), f"({card})" if card else ""],
        }[self.shown]
        return " ".join(part for part in parts if part)


def _initials(name: str) -> str:
    words = []
    for word in name.split():
        pieces = [f"{piece[0]}." for piece in word.split("-") if piece]
        words.append("-".join(pieces))
    return " ".join(words)


@dataclass(frozen=True)
class LibraryLayout:
    """What one library prints around every receipt. ``account_url`` (https) becomes a QR code on
    patron receipts; ``logo`` is an image file printed at the top (scaled to the paper)."""

    library_name: str
    header: tuple[str, ...] = ()
    opening_hours: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    logo: Path | None = None
    account_url: str = ""
    hold_patron: HoldPatronPolicy = field(default_factory=HoldPatronPolicy)

    def __post_init__(self) -> None:
        if not self.library_name.strip():
            raise ValueError("a receipt layout needs the library's name")
        for name in ("header", "opening_hours", "footer"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.account_url and not self.account_url.startswith(("https://", "http://")):
            raise ValueError(
                f"account_url must be a web address starting with https://, got {self.account_url!r}"
            )
        if self.logo is not None and not Path(self.logo).is_file():
            raise ValueError(f"the receipt logo {self.logo} does not exist: fix the path or remove it")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> LibraryLayout:
        """From a configuration table: the field names, plus ``hold_patron`` and ``hold_patron_digits``."""
        known = {"library_name", "header", "opening_hours", "footer", "logo", "account_url"}
        unknown = set(values) - known - {"hold_patron", "hold_patron_digits"}
        if unknown:
            raise ValueError(f"unknown receipt layout keys: {', '.join(sorted(unknown))}")
        policy = HoldPatronPolicy(
            HoldPatronShown(str(values.get("hold_patron", HoldPatronShown.INITIALS_AND_LAST_DIGITS))),
            int(str(values.get("hold_patron_digits", 4))),
        )
        logo = values.get("logo")
        return cls(
            library_name=str(values.get("library_name", "")),
            header=_strings(values.get("header", ())),
            opening_hours=_strings(values.get("opening_hours", ())),
            footer=_strings(values.get("footer", ())),
            logo=Path(str(logo)) if logo else None,
            account_url=str(values.get("account_url", "")),
            hold_patron=policy,
        )


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(item) for item in value)
    raise ValueError(f"expected text or a list of texts, got {value!r}")


@dataclass(frozen=True)
class Labels:
    """The words on receipts, in the receipt's language (the kiosk fills them from its translations)."""

    loans: str = "Loans"
    returns: str = "Returns"
    renewals: str = "Renewals"
    due: str = "Due"
    returned: str = "Returned"
    not_renewed: str = "Not renewed"
    opening_hours: str = "Opening hours"
    account: str = "Your loans online"
    hold_slip: str = "Hold"
    transit_slip: str = "Transit"
    hold_for: str = "For"
    pick_up_at: str = "Pick up at"
    send_to: str = "Send to"


@dataclass(frozen=True)
class LoanLine:
    title: str
    item_id: str
    due: date | None


@dataclass(frozen=True)
class ReturnLine:
    title: str
    item_id: str


@dataclass(frozen=True)
class RenewalLine:
    title: str
    item_id: str
    due: date | None
    renewed: bool = True
    reason: str = ""


def _item_lines(title: str, item_id: str, detail: str) -> tuple[ReceiptLine, ...]:
    lines = [ReceiptLine(title or item_id, "bold")]
    if title:
        lines.append(ReceiptLine(item_id, "small"))
    if detail:
        lines.append(ReceiptLine(detail))
    return (*lines, ReceiptLine(""))


def _patron_receipt(
    layout: LibraryLayout,
    labels: Labels,
    kind: ReceiptKind,
    title: str,
    body: Sequence[ReceiptLine],
    printed_at: datetime,
    language: str,
) -> Receipt:
    head = tuple(ReceiptLine(text, "small", "center") for text in layout.header)
    hours: tuple[ReceiptLine, ...] = ()
    if layout.opening_hours:
        hours = (ReceiptLine(labels.opening_hours, "bold"), *(ReceiptLine(t) for t in layout.opening_hours))
    account = (ReceiptLine(labels.account, "small", "center"),) if layout.account_url else ()
    return Receipt(
        kind=kind,
        title=title,
        lines=(*head, *body, *hours, *account),
        footer="\n".join(layout.footer),
        library_name=layout.library_name,
        printed_at=printed_at,
        language=language,
        logo=layout.logo,
        qr=layout.account_url,
    )


def _due(label: str, due: date | None) -> str:
    return f"{label}: {due.isoformat()}" if due else ""


def loan_receipt(
    layout: LibraryLayout, labels: Labels, loans: Sequence[LoanLine], *, printed_at: datetime, language: str
) -> Receipt:
    body = [
        line for loan in loans for line in _item_lines(loan.title, loan.item_id, _due(labels.due, loan.due))
    ]
    return _patron_receipt(layout, labels, "loan", labels.loans, body, printed_at, language)


def return_receipt(
    layout: LibraryLayout,
    labels: Labels,
    returns: Sequence[ReturnLine],
    *,
    printed_at: datetime,
    language: str,
) -> Receipt:
    returned = f"{labels.returned}: {printed_at.date().isoformat()}"
    body = [line for item in returns for line in _item_lines(item.title, item.item_id, returned)]
    return _patron_receipt(layout, labels, "return", labels.returns, body, printed_at, language)


def renewal_receipt(
    layout: LibraryLayout,
    labels: Labels,
    renewals: Sequence[RenewalLine],
    *,
    printed_at: datetime,
    language: str,
) -> Receipt:
    body: list[ReceiptLine] = []
    for item in renewals:
        detail = (
            _due(labels.due, item.due)
            if item.renewed
            else f"{labels.not_renewed}: {item.reason}".rstrip(": ")
        )
        body.extend(_item_lines(item.title, item.item_id, detail))
    return _patron_receipt(layout, labels, "renewal", labels.renewals, body, printed_at, language)


def _staff_slip(
    layout: LibraryLayout,
    kind: ReceiptKind,
    title: str,
    routing: Sequence[str],
    item: tuple[str, str],
    extra: Sequence[ReceiptLine],
    printed_at: datetime,
    language: str,
) -> Receipt:
    item_title, item_id = item
    lines = (
        *(ReceiptLine(text, "huge", "center") for text in routing if text),
        ReceiptLine(""),
        ReceiptLine(item_title or item_id, "bold"),
        ReceiptLine(item_id),
        *extra,
    )
    return Receipt(kind, title, lines, "", layout.library_name, printed_at, language)


def hold_slip(
    layout: LibraryLayout,
    labels: Labels,
    *,
    title: str,
    item_id: str,
    pickup_location: str,
    patron_name: str,
    patron_card: str,
    printed_at: datetime,
    language: str,
) -> Receipt:
    """A slip for the hold shelf: the patron large (as far as the library allows), the pickup place."""
    who = layout.hold_patron.label(patron_name, patron_card)
    extra = [ReceiptLine(f"{labels.pick_up_at}: {pickup_location}")] if pickup_location else []
    routing = [f"{labels.hold_for}: {who}" if who else labels.hold_slip]
    return _staff_slip(
        layout, "hold_slip", labels.hold_slip, routing, (title, item_id), extra, printed_at, language
    )


def transit_slip(
    layout: LibraryLayout,
    labels: Labels,
    *,
    title: str,
    item_id: str,
    destination: str,
    printed_at: datetime,
    language: str,
) -> Receipt:
    """A slip for items going to another branch: the destination in routing text."""
    routing = [labels.send_to, destination]
    return _staff_slip(
        layout, "transit_slip", labels.transit_slip, routing, (title, item_id), (), printed_at, language
    )
