"""Reproducible demo data for the demo consortium (Troms og Finnmark), and `create_database`.

Everything here is literal or derived deterministically from literal lists: two runs give the same ids.
Library numbers are 7-digit numbers in the style of Norway's Base Bibliotek; they are demo values, not
checked against the real register. Loans and holds are dated relative to `now` when the database is made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple


class Library(NamedTuple):
    number: str  # 7-digit library number (also the SIP2 institution id and location code)
    name: str
    municipality: str
    kind: str = "library"  # "library" or "bookmobile"
    parent: str = ""  # a bookmobile's library


LIBRARIES: tuple[Library, ...] = (
    Library("2190000", "Tromsø bibliotek og byarkiv", "Tromsø / Romsa / Tromssa"),
    Library("2190100", "Harstad bibliotek", "Harstad / Hárstták"),
    Library("2201200", "Alta bibliotek", "Alta / Áltá"),
    Library("2201100", "Guovdageainnu girjerájus / Kautokeino bibliotek", "Guovdageaidnu / Kautokeino"),
    Library("2190900", "Bokbussen i Tromsø", "Tromsø / Romsa / Tromssa", "bookmobile", "2190000"),
)
TROMSO, HARSTAD, ALTA, KAUTOKEINO, BOOKMOBILE = (lib.number for lib in LIBRARIES)
LIBRARY_NAMES: dict[str, str] = {lib.number: lib.name for lib in LIBRARIES}

# One SIP2 account per branch/kiosk location: the ILS takes the transaction's branch from the login.
ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("kiosk-tromso", "demo-tromso", TROMSO),
    ("kiosk-harstad", "demo-harstad", HARSTAD),
    ("kiosk-alta", "demo-alta", ALTA),
    ("kiosk-kautokeino", "demo-kautokeino", KAUTOKEINO),
    ("kiosk-bokbuss", "demo-bokbuss", BOOKMOBILE),
)

KIOSK_LIBRARY = LIBRARIES[0]
KIOSK_LOGIN = ("kiosk-tromso", "demo-tromso")
KIOSK_LOCATION = TROMSO
KIOSK_INSTITUTION = TROMSO


class Patron(NamedTuple):
    card: str
    name: str
    pin: str
    home: str
    category: str = "adult"  # "adult" or "child"
    blocked: str = ""  # block note; "" = not blocked
    fees: str = "0.00"
    # SIP2 language (000 unknown, 012 Norwegian, 015 Russian, ...); SIP2 has no number for the Sámi
    # languages, so an ISO 639 code in the same field ("sme" Northern Sámi), as library systems send it
    language: str = "000"


PATRONS: tuple[Patron, ...] = (
    Patron("219000000001", "Máret Ánne Sara", "1234", TROMSO),
    Patron("219000000002", "Niillas Somby", "2345", TROMSO, language="sme"),
    Patron("219000000003", "Aili Kemi", "3456", TROMSO),
    Patron("219000000004", "Ivan Petrov", "4567", TROMSO),
    Patron("219000000005", "Ольга Смирнова", "5678", TROMSO, language="015"),
    Patron("219000000006", "Ingrid Johansen", "6789", TROMSO),
    Patron("219000000007", "Per Arne Olsen", "7890", TROMSO),
    Patron("219000000008", "Elle Hætta", "2468", TROMSO, category="child"),
    Patron("219010000001", "Ole Martin Pedersen", "1357", HARSTAD, blocked="Lånekortet er sperret"),
    Patron("219010000002", "Kari Nordmann", "9753", HARSTAD, fees="250.00"),
    Patron("219010000003", "Sigrid Hansen", "8642", HARSTAD),
    Patron("219010000004", "Eero Niemi", "1470", HARSTAD),
    Patron("220120000001", "Anne Marit Bongo", "2581", ALTA),
    Patron("220120000002", "Hilja Salmela", "3692", ALTA),
    Patron("220120000003", "Lempi Alatalo", "1593", ALTA),
    Patron("220120000004", "Анна Кузнецова", "7531", ALTA),
    Patron("220120000005", "Dmitrij Volkov", "9517", ALTA),
    Patron("220120000006", "Siri Karlsen", "3571", ALTA),
    Patron("220110000001", "Ásllat Gaup", "4826", KAUTOKEINO),
    Patron("220110000002", "Biret Risten Eira", "6284", KAUTOKEINO),
    Patron("220110000003", "Johan Mathis Turi", "8462", KAUTOKEINO),
    Patron("220110000004", "Ánte Mihkkal Gaino", "2684", KAUTOKEINO),
    Patron("220110000005", "Inga Márjá Utsi", "4268", KAUTOKEINO, category="child"),
)

DEMO_PATRON_ID = PATRONS[0].card
DEMO_PATRON_PIN = PATRONS[0].pin
BLOCKED_PATRON_ID = "219010000001"
FEES_PATRON_ID = "219010000002"
CHILD_PATRON_ID = "219000000008"
SAMI_PATRON_ID = "219000000002"  # Niillas Somby: a Northern Sámi speaker (the demo offers davvisámegiella)

# Media types: SIP2 CK code, Norwegian name, loan period in days (adult, child).
MEDIA_TYPES: dict[str, tuple[str, str, int, int]] = {
    "book": ("001", "bok", 28, 28),
    "magazine": ("002", "tidsskrift", 14, 14),
    "dvd": ("005", "film", 7, 7),
    "cd": ("006", "musikk-CD", 14, 14),
    "audiobook": ("006", "lydbok", 28, 21),
}
LOAN_LIMITS = {"adult": 30, "child": 5}
FEE_LIMIT = 100.0  # NOK: above this the patron may not borrow
MAX_RENEWALS = 3


class Title(NamedTuple):
    title: str
    author: str
    media: str
    parts: int = 1


TITLES: tuple[Title, ...] = (
    Title("Beaivi, áhčážan", "Nils-Aslak Valkeapää", "book"),
    Title("Sult", "Knut Hamsun", "book"),
    Title("Markens grøde", "Knut Hamsun", "book"),
    Title("Et dukkehjem", "Henrik Ibsen", "book"),
    Title("Kristin Lavransdatter: Kransen", "Sigrid Undset", "book"),
    Title("Morgon og kveld", "Jon Fosse", "book"),
    Title("Анна Каренина", "Лев Толстой", "book"),
    Title("Преступление и наказание", "Фёдор Достоевский", "book"),
    Title("Teskjekjerringa", "Alf Prøysen", "book"),
    Title("Brødrene Løvehjerte", "Astrid Lindgren", "book"),
    Title("Folk og røvere i Kardemomme by", "Thorbjørn Egner", "book"),
    Title("Ædnan", "Linnea Axelsson", "book"),
    Title("Guhtoset dearvvuođat min bohccuide", "Kirsti Paltto", "book"),
    Title("Trommereisen", "Ailo Gaup", "book"),
    Title("Elämän jatkuminen", "Alf Nilsen-Børsskog", "book"),
    Title("Tuntematon sotilas", "Väinö Linna", "book"),
    Title("Sámi girjjálašvuođa historjá", "Demo Forfatter", "book"),
    Title("Kvensk grammatikk", "Demo Forfatter", "book"),
    Title("Nordlysets fysikk", "Demo Forfatter", "book"),
    Title("Fiskeværet ved havet", "Demo Forfatter", "book"),
    Title("Vidda om vinteren", "Demo Forfatter", "book"),
    Title("Reindrift i endring", "Demo Forfatter", "book"),
    Title("Russisk for nybegynnere", "Demo Forfatter", "book"),
    Title("Kokebok fra nord", "Demo Forfatter", "book"),
    Title("Gula gula", "Mari Boine", "cd"),
    Title("Joik fra vidda", "Demo Artist", "cd"),
    Title("Kautokeino-opprøret", "Nils Gaup", "dvd"),
    Title("Kon-Tiki", "Joachim Rønning og Espen Sandberg", "dvd"),
    Title("Elling", "Petter Næss", "dvd"),
    Title("Ruijan Kaiku 2024", "Ruijan Kaiku", "magazine"),
    Title("Š magasiidna 2024", "Š", "magazine"),
    Title("Sult (lydbok)", "Knut Hamsun", "audiobook", parts=2),
    Title("Brødrene Løvehjerte (lydbok)", "Astrid Lindgren", "audiobook", parts=2),
    Title("Beaivi, áhčážan (lydbok)", "Nils-Aslak Valkeapää", "audiobook", parts=3),
    Title("Nordnorske viser", "Demo Artist", "cd", parts=2),
    Title("Tromsø i bilder", "Demo Forfatter", "book"),
)

COPIES_PER_TITLE = 3


class Item(NamedTuple):
    item_id: str  # 14 digits: owner library number + 7-digit running number (NOR-RFID fits 16 ASCII)
    title: str
    author: str
    media: str
    parts: int
    owner: str  # owning library's number
    home: str  # home branch (a bookmobile is a branch of its library)


def _owner_of(branch: str) -> str:
    for lib in LIBRARIES:
        if lib.number == branch:
            return lib.parent or lib.number
    raise KeyError(branch)


def _make_items() -> tuple[Item, ...]:
    items: list[Item] = []
    running: dict[str, int] = {}
    for i, t in enumerate(TITLES):
        for copy in range(COPIES_PER_TITLE):
            # Copy 0 is always at Tromsø (the kiosk library) so the demo has enough on its shelves.
            home = TROMSO if copy == 0 else LIBRARIES[(i + copy) % len(LIBRARIES)].number
            owner = _owner_of(home)
            running[owner] = running.get(owner, 0) + 1
            item_id = f"{owner}{running[owner]:07d}"
            items.append(Item(item_id, t.title, t.author, t.media, t.parts, owner, home))
    return tuple(items)


ITEMS: tuple[Item, ...] = _make_items()
_BY_TITLE_AT: dict[tuple[str, str], Item] = {(it.title, it.home): it for it in ITEMS}


def _item(title: str, home: str) -> str:
    return _BY_TITLE_AT[(title, home)].item_id


DEMO_BORROW_ITEMS: tuple[str, ...] = (
    _item("Sult", TROMSO),
    _item("Ædnan", TROMSO),
    _item("Анна Каренина", TROMSO),
)
DEMO_SET_ITEM = _item("Sult (lydbok)", TROMSO)  # 2 discs
DEMO_HOLD_READY_ITEM = _item("Teskjekjerringa", TROMSO)  # waiting on the hold shelf for the demo patron
DEMO_EXISTING_LOAN = _item("Markens grøde", TROMSO)  # the demo patron already has this one
# On loan to Ivan Petrov; Niillas Somby waits for it with pickup at the kiosk library -> hold shelf.
HOLD_SHELF_ITEM = _item("Brødrene Løvehjerte", TROMSO)
# On loan to Aili Kemi; Sigrid Hansen waits for it with pickup in Harstad -> transit to Harstad.
TRANSIT_HOLD_ITEM = _item("Folk og røvere i Kardemomme by", TROMSO)
# Owned by Alta, on loan to Ingrid Johansen -> returned at Tromsø, it goes home to Alta.
OTHER_LIBRARY_ITEM = next(
    it.item_id for it in ITEMS if it.home == ALTA and it.parts == 1 and it.media == "book"
)
NOT_FOR_LOAN_ITEM = _item("Tromsø i bilder", TROMSO)  # reference copy: not for loan
# Reported lost in the catalogue, yet it sits on the bookmobile's shelf: lending it offline makes a
# conflict when the bookmobile syncs.
LOST_ITEM = next(it.item_id for it in ITEMS if it.home == BOOKMOBILE and it.parts == 1)


class LoanRecord(NamedTuple):
    item_id: str
    patron: str
    branch: str
    days_ago: int
    period: int


LOANS: tuple[LoanRecord, ...] = (
    LoanRecord(DEMO_EXISTING_LOAN, DEMO_PATRON_ID, TROMSO, 5, 28),
    LoanRecord(HOLD_SHELF_ITEM, "219000000004", TROMSO, 20, 28),
    LoanRecord(TRANSIT_HOLD_ITEM, "219000000003", TROMSO, 10, 28),
    LoanRecord(OTHER_LIBRARY_ITEM, "219000000006", ALTA, 40, 28),  # overdue
)


class HoldRecord(NamedTuple):
    item_id: str
    patron: str
    pickup: str
    ready: bool


HOLDS: tuple[HoldRecord, ...] = (
    HoldRecord(DEMO_HOLD_READY_ITEM, DEMO_PATRON_ID, TROMSO, True),
    HoldRecord(HOLD_SHELF_ITEM, "219000000002", TROMSO, False),
    HoldRecord(TRANSIT_HOLD_ITEM, "219010000003", HARSTAD, False),
)


def tag_records() -> Iterator[tuple[str, int, str]]:
    """For making item RFID tags: every item as (item id, parts, owner library number)."""
    for it in ITEMS:
        yield it.item_id, it.parts, it.owner


def card_records() -> Iterator[tuple[str, str]]:
    """For making patron card tags: every patron as (card id, home library's owner number)."""
    for p in PATRONS:
        yield p.card, _owner_of(p.home)


SCHEMA = """
CREATE TABLE libraries (number TEXT PRIMARY KEY, name TEXT NOT NULL, municipality TEXT NOT NULL,
                        kind TEXT NOT NULL, parent TEXT NOT NULL);
CREATE TABLE accounts (user TEXT PRIMARY KEY, password TEXT NOT NULL, branch TEXT NOT NULL);
CREATE TABLE patrons (card TEXT PRIMARY KEY, name TEXT NOT NULL, pin TEXT NOT NULL, home TEXT NOT NULL,
                      category TEXT NOT NULL, blocked TEXT NOT NULL, fees TEXT NOT NULL,
                      language TEXT NOT NULL);
CREATE TABLE items (item_id TEXT PRIMARY KEY, title TEXT NOT NULL, author TEXT NOT NULL,
                    media TEXT NOT NULL, parts INTEGER NOT NULL, owner TEXT NOT NULL, home TEXT NOT NULL,
                    for_loan INTEGER NOT NULL DEFAULT 1,
                    -- available | loan | hold_shelf | transit
                    status TEXT NOT NULL DEFAULT 'available',
                    location TEXT NOT NULL,  -- where it is now (or is going, when in transit)
                    transit_to TEXT NOT NULL DEFAULT '');
CREATE TABLE loans (item_id TEXT PRIMARY KEY REFERENCES items, patron TEXT NOT NULL REFERENCES patrons,
                    branch TEXT NOT NULL, loaned_at TEXT NOT NULL, due_at TEXT NOT NULL,
                    renewals INTEGER NOT NULL DEFAULT 0);
CREATE TABLE holds (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items,
                    patron TEXT NOT NULL REFERENCES patrons, pickup TEXT NOT NULL, placed_at TEXT NOT NULL,
                    -- waiting (for the item) | ready (on the hold shelf) | filled
                    status TEXT NOT NULL, ready_at TEXT);
-- Every circulation event, with whether it came as an offline (no block) replay.
CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, item_id TEXT NOT NULL, patron TEXT,
                     branch TEXT NOT NULL, at TEXT NOT NULL, recorded_at TEXT NOT NULL,
                     no_block INTEGER NOT NULL, nb_due TEXT);
"""


def iso(dt: datetime) -> str:
    return dt.replace(microsecond=0).isoformat(sep=" ")


def create_database(path: str | Path, *, now: datetime | None = None) -> Path:
    """Write a fresh demo database at `path` (replacing any file there) and return the path."""
    path = Path(path)
    if path.exists():
        path.unlink()
    now = (now or datetime.now()).replace(microsecond=0)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executescript(SCHEMA)
            conn.executemany("INSERT INTO libraries VALUES (?,?,?,?,?)", LIBRARIES)
            conn.executemany("INSERT INTO accounts VALUES (?,?,?)", ACCOUNTS)
            conn.executemany("INSERT INTO patrons VALUES (?,?,?,?,?,?,?,?)", PATRONS)
            conn.executemany(
                "INSERT INTO items (item_id, title, author, media, parts, owner, home, location)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(*it, it.home) for it in ITEMS],
            )
            conn.execute("UPDATE items SET for_loan = 0 WHERE item_id = ?", (NOT_FOR_LOAN_ITEM,))
            conn.execute("UPDATE items SET status = 'lost' WHERE item_id = ?", (LOST_ITEM,))
            for loan in LOANS:
                loaned = now - timedelta(days=loan.days_ago)
                conn.execute(
                    "INSERT INTO loans (item_id, patron, branch, loaned_at, due_at) VALUES (?,?,?,?,?)",
                    (
                        loan.item_id,
                        loan.patron,
                        loan.branch,
                        iso(loaned),
                        iso(loaned + timedelta(loan.period)),
                    ),
                )
                conn.execute("UPDATE items SET status = 'loan' WHERE item_id = ?", (loan.item_id,))
            for n, hold in enumerate(HOLDS):
                placed = now - timedelta(days=3, minutes=n)
                conn.execute(
                    "INSERT INTO holds (item_id, patron, pickup, placed_at, status, ready_at)"
                    " VALUES (?,?,?,?,?,?)",
                    (
                        hold.item_id,
                        hold.patron,
                        hold.pickup,
                        iso(placed),
                        "ready" if hold.ready else "waiting",
                        iso(now - timedelta(days=1)) if hold.ready else None,
                    ),
                )
                if hold.ready:
                    conn.execute(
                        "UPDATE items SET status = 'hold_shelf', location = ? WHERE item_id = ?",
                        (hold.pickup, hold.item_id),
                    )
    finally:
        conn.close()
    return path
