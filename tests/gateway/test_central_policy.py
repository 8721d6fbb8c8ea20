"""The library's offline policy, set centrally in the gateway's configuration, is what the kiosk applies
offline: fetched with the offline data, kept beside the journal, laid over the station file's [offline]
between two patron sessions; a key the staff console set for the kiosk stays the console's. The kiosk is
the demo station through the demo gateway (uvicorn on 127.0.0.1) to the demo ILS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from kiosk.core import Action, OfflinePolicy, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from kiosk.station import GatewayLink, load_stored, offline_with_central, stored_path
from server_api.circulation import Transaction
from server_api.demo_ils.data import DEMO_PATRON_ID
from server_api.gateway.demo import DemoGateway
from server_api.gateway.wire import OfflinePolicyData


def set_library_policy(gateway: DemoGateway | None, library: str, **policy: Any) -> None:
    """Staff change `[library.offline]` for `library` (the running gateway reads it from now on)."""
    assert gateway is not None
    running = gateway._server.config.app.state.gateway  # the app uvicorn serves, in this loop
    config = running.cards.config
    libraries = tuple(
        lib.model_copy(update={"offline": lib.offline.model_copy(update=policy)})
        if lib.number == library
        else lib
        for lib in config.library
    )
    running.cards.config = config.model_copy(update={"library": libraries})


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
