"""The patron's own language: when the card identifies a patron and the library system keeps a language for
them (SIP2 patron information, the language field), the session switches to it if the station offers it,
and back to the station's language when the session ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.core import (
    Action,
    CardPresented,
    LanguageChosen,
    PatronLoaded,
    PatronSession,
    PinEntered,
    Pressed,
    ScreenName,
    SessionPolicy,
    Tick,
)
from server_api.circulation import PatronAccount
from tests.core.sessions import T0, at

OFFERED = frozenset({"nb", "nn", "sv", "fi", "ru", "en", "se"})


def visit(language: str, offered: frozenset[str] = OFFERED, chosen: str = "") -> PatronSession:
    session = PatronSession(SessionPolicy(languages=offered), T0)
    if chosen:
        session.handle(LanguageChosen(chosen, at(0.5)))
    session.handle(CardPresented("N001", at(1)))
    session.handle(PinEntered("1234", at(2)))
    account = PatronAccount("N001", True, True, name="Niillas", may_borrow=True, language=language)
    session.handle(PatronLoaded(account, at(3)))
    assert session.screen().name is ScreenName.MENU
    return session


@pytest.mark.parametrize(
    ("kept", "shown"),
    [("012", "nb"), ("006", "sv"), ("007", "fi"), ("015", "ru"), ("001", "en"), ("024", "en")],
)
def test_the_sip2_language_number_switches_the_session_to_that_language(kept: str, shown: str) -> None:
    assert visit(kept).screen().language == shown


@pytest.mark.parametrize(("kept", "shown"), [("sme", "se"), ("nno", "nn"), ("fin", "fi"), ("se", "se")])
def test_an_iso_639_code_in_the_language_field_is_read_too(kept: str, shown: str) -> None:
    assert visit(kept).screen().language == shown


@pytest.mark.parametrize("kept", ["000", "", "999", "003", "xx"])
def test_no_language_or_one_the_station_has_not_keeps_the_station_language(kept: str) -> None:
    assert visit(kept).screen().language == "nb"


def test_a_draft_the_library_has_not_enabled_is_not_switched_to() -> None:
    assert visit("sme", offered=frozenset({"nb", "en"})).screen().language == "nb"


def test_a_language_the_patron_chose_in_this_visit_wins_over_the_library_systems() -> None:
    assert visit("015", chosen="en").screen().language == "en"


def test_at_the_end_of_the_session_the_station_goes_back_to_its_own_language() -> None:
    session = visit("015")
    session.handle(Pressed(Action.FINISH, at(4)))  # nothing done: goodbye, then the welcome screen
    session.handle(Tick(at(30)))
    assert session.screen().name is ScreenName.WELCOME
    assert session.screen().language == "nb"
    again = visit("000")  # the next patron, with no language kept, sees the station's
    assert again.screen().language == "nb"


def test_a_language_chosen_on_the_welcome_screen_by_someone_who_walked_away_is_not_kept() -> None:
    session = PatronSession(SessionPolicy(languages=OFFERED), T0)
    session.handle(LanguageChosen("fi", at(1)))
    session.handle(Tick(at(30)))
    assert session.screen().language == "fi"  # still reading the screen
    session.handle(Tick(at(62)))  # the idle timeout with nobody at the station
    assert session.screen().language == "nb"
    assert session.language_chosen is False


def test_the_demo_library_system_sends_the_sami_speakers_language_and_the_station_switches(
    tmp_path: Path,
) -> None:
    """Over SIP2 on 127.0.0.1: the demo's Sámi speaker (language "sme") gets davvisámegiella, the demo's
    Russian reader (015) Russian, and the screen after each visit is bokmål again."""
    from kiosk.demo import DemoEnvironment, log_in
    from server_api.demo_ils import data

    async def run() -> list[str]:
        seen = []
        async with DemoEnvironment(tmp_path) as env:
            assert env.station is not None
            by_card = {p.card: p for p in data.PATRONS}
            for card in (data.SAMI_PATRON_ID, "219000000005"):
                assert await log_in(env, card, by_card[card].pin)
                seen.append(env.station.screen.language)
                env.station.press(Action.FINISH)
                await env.wait_for(lambda s: s.name is ScreenName.WELCOME, timeout=20)
                seen.append(env.station.screen.language)
        return seen

    assert asyncio.run(asyncio.wait_for(run(), 60)) == ["se", "nb", "ru", "nb"]
