"""The crash test's workload: patron visits with an intent, and how far a journal got with it.

A workload is a list of visits. At each visit a patron returns what the workload lent them at their
previous visit and borrows one to three items from the shelf. Every return and every loan is a *step*;
the test's promise is that each step reaches the library system exactly once, in order per item, however
often the station is killed on the way.

The station keeps no progress file: what it has done is what its journal says. That is the point: after
a SIGKILL, the journal is all a restarted station has, and the worker resumes from it like a patron
trying again at a restarted kiosk.
"""

from __future__ import annotations

import collections
import json
import random
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from kiosk.core import AFI_IN_LIBRARY, AFI_ON_LOAN
from kiosk.demo import ils_events, make_tags
from kiosk.journal import Entry, State, took_effect
from server_api.demo_ils import data as demo_data
from server_api.demo_ils.data import BLOCKED_PATRON_ID, FEES_PATRON_ID


@dataclass(frozen=True)
class Visit:
    patron: str
    pin: str
    returns: tuple[str, ...]
    borrows: tuple[str, ...]
    # Also tried, online only, and refused by the library system (a reference copy): no step of the
    # workload, but no crash and no replay may ever turn the refusal into a loan.
    refused: tuple[str, ...] = ()


REFUSED_ONLINE = demo_data.NOT_FOR_LOAN_ITEM


@dataclass(frozen=True)
class Step:
    visit: int
    operation: str  # "checkout" or "checkin", as in the journal and the library system's events
    item_id: str
    patron: str  # whose loan it is (a checkin returns this patron's loan)


def lendable_items(ils_db: Path) -> list[str]:
    """Single-part items on the shelf, for loan, with nobody waiting for them."""
    with sqlite3.connect(ils_db) as db:
        rows = db.execute(
            "SELECT item_id FROM items WHERE status = 'available' AND for_loan = 1 AND parts = 1"
            " AND item_id NOT IN (SELECT item_id FROM holds WHERE status IN ('waiting', 'ready'))"
            " ORDER BY item_id"
        ).fetchall()
    return [r[0] for r in rows]


def make_workload(rng: random.Random, shelf: list[str], visits: int) -> list[Visit]:
    patrons = [p for p in demo_data.PATRONS if p.card not in (BLOCKED_PATRON_ID, FEES_PATRON_ID)]
    shelf = list(shelf)
    holdings: dict[str, list[str]] = {}
    plan: list[Visit] = []
    for _ in range(visits):
        patron = rng.choice(patrons)
        returning = holdings.pop(patron.card, [])
        borrowing = rng.sample(shelf, rng.randint(1, 3))
        for item_id in borrowing:
            shelf.remove(item_id)
        holdings[patron.card] = borrowing
        shelf.extend(returning)  # back on the shelf after the visit
        refused = (REFUSED_ONLINE,) if rng.random() < 0.2 else ()
        plan.append(Visit(patron.card, patron.pin, tuple(returning), tuple(borrowing), refused))
    return plan


def save(path: Path, plan: list[Visit]) -> None:
    path.write_text(json.dumps([asdict(v) for v in plan], indent=1))


def load(path: Path) -> list[Visit]:
    return [
        Visit(v["patron"], v["pin"], tuple(v["returns"]), tuple(v["borrows"]), tuple(v["refused"]))
        for v in json.loads(path.read_text())
    ]


def steps(plan: list[Visit]) -> list[Step]:
    lent_to: dict[str, str] = {}
    out: list[Step] = []
    for n, visit in enumerate(plan):
        for item_id in visit.returns:
            out.append(Step(n, "checkin", item_id, lent_to.pop(item_id)))
        for item_id in visit.borrows:
            out.append(Step(n, "checkout", item_id, visit.patron))
            lent_to[item_id] = visit.patron
    return out


# ------------------------------------------------------------ progress, as the journal tells it

DONE = "done"  # it happened or will be replayed
UNDONE = "undone"  # it did not happen and will not: the patron must try again
UNKNOWN = "unknown"  # the patron was told it failed, and only the library system knows


def entry_fate(entry: Entry) -> str:
    if entry.state is State.SENDING and entry.outcome.get("told_patron") == "failed":
        return UNKNOWN
    # Unsettled entries (queued, sent, replaying) will be replayed or reconciled: they count as done.
    return UNDONE if took_effect(entry) is False else DONE


def progress(plan: list[Visit], entries: list[Entry]) -> tuple[set[Step], int]:
    """The steps the journal shows as done, and how many entries are of unknown fate.

    The k-th journal entry for (operation, item) that did not end "undone" is the k-th workload step
    for that (operation, item): refused attempts are tried again, so they do not count."""
    by_key: dict[tuple[str, str], list[Step]] = collections.defaultdict(list)
    for step in steps(plan):
        by_key[(step.operation, step.item_id)].append(step)
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    done: set[Step] = set()
    unknown = 0
    for entry in entries:
        fate = entry_fate(entry)
        if fate == UNDONE:
            continue
        unknown += fate == UNKNOWN
        key = (entry.operation.value, entry.item_id)
        candidates = by_key.get(key, [])
        if seen[key] < len(candidates):
            done.add(candidates[seen[key]])
        seen[key] += 1
    return done, unknown


# ------------------------------------------------------------ the verdict


def compare(plan: list[Visit], ils_db: Path) -> dict[str, int]:
    """The library system's events for the workload's items against the workload's intent."""
    intended: dict[str, list[tuple[str, str | None]]] = collections.defaultdict(list)
    for step in steps(plan):
        intended[step.item_id].append((step.operation, step.patron))
    applied: dict[str, list[tuple[str, str | None]]] = collections.defaultdict(list)
    for kind, item_id, patron, _at in ils_events(ils_db, set(intended)):
        applied[item_id].append((kind, patron))
    lost = duplicated = out_of_order = 0
    for item_id, want in intended.items():
        got = applied.get(item_id, [])
        lost += sum((collections.Counter(want) - collections.Counter(got)).values())
        duplicated += sum((collections.Counter(got) - collections.Counter(want)).values())
        out_of_order += collections.Counter(want) == collections.Counter(got) and want != got
    holder = {s.item_id: s.patron if s.operation == "checkout" else None for s in steps(plan)}
    with sqlite3.connect(ils_db) as db:
        loans = dict(db.execute("SELECT item_id, patron FROM loans").fetchall())
    wrong_holder = sum(1 for item_id, patron in holder.items() if loans.get(item_id) != patron)
    refused_then_lent = len(ils_events(ils_db, {REFUSED_ONLINE}))
    return {
        "refused_then_lent": refused_then_lent,
        "intended": sum(len(w) for w in intended.values()),
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "wrong_final_holder": wrong_holder,
    }


# ------------------------------------------------------------ the security bit, as the tags tell it


def tag_disagreements(plan: list[Visit], tag_afi: dict[str, int], ils_db: Path, staff_items: set[str]) -> int:
    """Items of the workload whose tag and library system disagree with no staff task naming the item:
    on loan with the in-library AFI (the gate alarms at the patron), or back with the on-loan AFI (the
    item sits on the shelf unprotected). `tag_afi` is every tag's AFI (uid in hex), kept across lives."""
    item_tags, _cards = make_tags()
    with sqlite3.connect(ils_db) as db:
        on_loan = {row[0] for row in db.execute("SELECT item_id FROM loans")}
    wrong = 0
    for item_id in {step.item_id for step in steps(plan)} - staff_items:
        want = AFI_ON_LOAN if item_id in on_loan else AFI_IN_LIBRARY
        wrong += any(tag_afi.get(tag.uid.hex()) != want for tag in item_tags[item_id])
    return wrong
