"""The library's offline policy, set centrally in the gateway's configuration, is what the kiosk applies
offline: fetched with the offline data, kept beside the journal, laid over the station file's [offline]
between two patron sessions; a key the staff console set for the kiosk stays the console's. The kiosk is
the demo station through the demo gateway (uvicorn on 127.0.0.1) to the demo ILS."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from kiosk.core import Action, OfflinePolicy, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.station import GatewayLink, load_stored, offline_with_central, stored_path
from server_api.card_rules import CardRuleError, compile_card_patterns, matches_card_patterns
from server_api.circulation import Transaction
from server_api.demo_ils.data import DEMO_PATRON_ID, SAMI_PATRON_ID
from server_api.gateway.config import CardRules
from server_api.gateway.demo import DemoGateway
from server_api.gateway.wire import OfflinePolicyData


def set_library_section(gateway: DemoGateway | None, library: str, section: str, **values: Any) -> None:
    """Staff change `[library.SECTION]` for `library` (the running gateway reads it from now on)."""
    assert gateway is not None
    running = gateway._server.config.app.state.gateway  # the app uvicorn serves, in this loop
    config = running.cards.config
    libraries = tuple(
        lib.model_copy(update={section: getattr(lib, section).model_copy(update=values)})
        if lib.number == library
        else lib
        for lib in config.library
    )
    running.cards.config = config.model_copy(update={"library": libraries})


def set_library_policy(gateway: DemoGateway | None, library: str, **policy: Any) -> None:
    set_library_section(gateway, library, "offline", **policy)


async def test_a_changed_central_policy_changes_what_the_kiosk_lends_offline(tmp_path: Path) -> None:
    env = DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0)), tick_interval=0.05
    )
    async with env:
        station, reports = env.station, env.station.gateway if env.station else None
        assert station is not None and reports is not None and reports.policy is not None
        assert isinstance(env.circulation, GatewayLink)
        await env.circulation.patron(DEMO_PATRON_ID, None, Transaction.new(env.clock()))  # known centrally
        assert station.policy.offline.max_items_per_session == 5  # the library's, as configured
        set_library_policy(env.gateway, env.library.number, max_items_per_session=1, loan_days=3)
        lists = await reports.refresh()
        assert reports.policy.apply(lists)  # what the report loop does after every fetch
        assert (station.policy.offline.max_items_per_session, station.policy.offline.loan_days) == (1, 3)
        assert station.session.stack.policy.offline.max_items_per_session == 1  # the session decides by it
        kept = load_stored(stored_path(Path(station.journal.path)))
        assert kept is not None and kept.data.policy.max_items_per_session == 1  # a restart starts with it

        env.cut_network()
        while station.online:
            await station.check_connection()
        assert await log_in(env)  # offline: the card is known centrally, no PIN
        items = env.demo_borrow_items[:3]
        screen = await handle_stack(env, Action.BORROW, items)
        texts = sorted(row.text.key for row in screen.rows)
        assert texts.count("refusal.offline_limit") == 2, texts  # one a session now, not five
        await finish_visit(env, receipt=False)
        lent = [e for e in station.journal.entries() if e.offline]
        assert len(lent) == 1 and lent[0].due_date is not None
        assert (lent[0].due_date.date() - lent[0].at.date()).days == 3  # the library's loan days offline


def test_a_key_the_console_set_for_this_kiosk_stays_the_console_s() -> None:
    central = OfflinePolicyData(borrowing=False, max_items_per_session=2, max_items_per_patron=4, loan_days=7)
    mine = OfflinePolicy(max_items_per_session=9, loan_days=21)
    laid = offline_with_central(mine, central, {"offline.loan_days": 21})
    assert (laid.borrowing, laid.max_items_per_session, laid.max_items_per_patron) == (False, 2, 4)
    assert laid.loan_days == 21 and laid.known_for == mine.known_for  # the rest is the station's


async def test_offline_a_card_outside_the_library_s_central_card_rules_gets_the_card_format_refusal(
    tmp_path: Path,
) -> None:
    env = DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0)), tick_interval=0.05
    )
    odd, even = DEMO_PATRON_ID, SAMI_PATRON_ID  # 219000000001 and 219000000002, both known centrally
    async with env:
        station, reports = env.station, env.station.gateway if env.station else None
        assert station is not None and reports is not None and reports.policy is not None
        assert isinstance(env.circulation, GatewayLink)
        for card in (odd, even):
            await env.circulation.patron(card, None, Transaction.new(env.clock()))
        rules = {"patterns": (r"2190000000\d[13579]",), "min_length": 12, "max_length": 12}
        set_library_section(env.gateway, env.library.number, "cards", **rules)
        assert reports.policy.apply(await reports.refresh())
        card_format = station.policy.offline.card_format
        assert [p.pattern for p in card_format.patterns] == [r"2190000000\d[13579]"]
        assert (card_format.min_length, card_format.max_length) == (12, 12)

        # A gateway that publishes a pattern that could backtrack for ever: refused, the rules in use stay.
        set_library_section(env.gateway, env.library.number, "cards", patterns=(r"(\d+)+x",))
        lists = await reports.refresh()
        assert lists.data.card_rules.patterns == [r"2190000000\d[13579]"]
        assert not reports.policy.apply(lists) and station.policy.offline.card_format == card_format
        kept = load_stored(stored_path(Path(station.journal.path)))
        assert kept is not None and kept.data.card_rules.patterns == [r"2190000000\d[13579]"]

        env.cut_network()
        while station.online:
            await station.check_connection()
        station.press(Action.BORROW)
        env.place_patron_card(even)
        screen = await env.wait_for(lambda s: s.message is not None and s.message.key.startswith("menu."))
        assert screen.message is not None and screen.message.key == "menu.offline_card_format"
        env.remove_patron_card(even)
        await finish_visit(env, receipt=False)

        assert await log_in(env, odd)  # offline, a number of the library's format: lent
        screen = await handle_stack(env, Action.BORROW, env.demo_borrow_items[:1])
        assert [row.text.key for row in screen.rows] != ["refusal.offline_limit"]
        await finish_visit(env, receipt=False)
        assert [e.offline for e in station.journal.entries()] == [True]


def test_card_rules_a_kiosk_cannot_use_safely_are_refused_with_what_is_wrong() -> None:
    assert compile_card_patterns([r"^\d{8,14}$", r"(?:\d{4} ?){3}", r"[A-Z]{2}\d{6}|\d{10}"])
    for hostile, said in [
        (r"(\d+)+x", "could take too long"),
        (r"(a|a)*", "could take too long"),
        (r"\d*\d*\d*", "could take too long"),
        (r"(\d)\1", "a back-reference"),
        (r"(?=2190)\d+", "a look-around"),
        ("(", "is not a regular expression"),
        ("2" * 201, "at most 200 characters"),
    ]:
        with pytest.raises(CardRuleError, match=re.escape(said)):
            compile_card_patterns([hostile])
    with pytest.raises(CardRuleError, match="at most 16"):
        compile_card_patterns([r"\d"] * 17)
    patterns = compile_card_patterns([r"2190\d{6}"])
    assert matches_card_patterns(patterns, "2190123456") and not matches_card_patterns(
        patterns, "21901234567"
    )
    assert not matches_card_patterns(compile_card_patterns([r"\d+"]), "1" * 33)  # longer is never tried


def test_the_gateway_refuses_a_card_pattern_kiosks_could_not_use() -> None:
    with pytest.raises(ValidationError, match="could take too long"):
        CardRules(patterns=(r"(\d+)+$",))
