"""The demo's patrons, as `kiosk demo` prints them and the simulator panel places their cards: one of each
kind a demonstrator wants to show (a normal one, a blocked card, fees owed, a child, a Sámi speaker)."""

from __future__ import annotations

from typing import NamedTuple

from server_api.demo_ils import data as demo_data


class DemoPatron(NamedTuple):
    kind: str  # what this patron shows, in the demonstrator's words
    card: str
    pin: str
    name: str


def demo_patrons() -> tuple[DemoPatron, ...]:
    by_card = {p.card: p for p in demo_data.PATRONS}
    kinds = (
        ("normal", demo_data.DEMO_PATRON_ID),
        ("blocked card", demo_data.BLOCKED_PATRON_ID),
        ("fees owed", demo_data.FEES_PATRON_ID),
        ("child", demo_data.CHILD_PATRON_ID),
        ("Sámi speaker", demo_data.SAMI_PATRON_ID),
    )
    return tuple(DemoPatron(kind, card, by_card[card].pin, by_card[card].name) for kind, card in kinds)


def patron_lines() -> list[str]:
    """The demo patrons with their cards and PINs, one line each (demo data, not real patrons)."""
    lines = ["Demo patrons (card number, PIN):"]
    lines += [f"  {p.kind:13} {p.card}  PIN {p.pin}  {p.name}" for p in demo_patrons()]
    return lines
