"""SIP2 servers of the real world, played by the demo ILS's `ServerQuirks` over real loopback TCP: a server
that answers 97 with AY0, a strict server that refuses blank dates, servers in another charset. Test names
here are the ones docs/SIP2.md cites as "verified"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from server_api.circulation import CirculationNoReply, Transaction
from server_api.demo_ils import (
    DEMO_BORROW_ITEMS,
    DEMO_PATRON_ID,
    KIOSK_INSTITUTION,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    DemoIls,
    ServerQuirks,
)
from server_api.demo_ils.data import DEMO_EXISTING_LOAN
from server_api.faulty_link import FaultPlan, FaultyLink
from server_api.sip2 import Sip2Circulation, Sip2Settings
from server_api.sip2.errors import Sip2CharsetMismatch, Sip2RequestRejected

NOW = datetime(2025, 2, 10, 12, 0, 0)


def settings(port: int, **kw: object) -> Sip2Settings:
    options: dict[str, object] = {
        "location": KIOSK_LOCATION,
        "institution": KIOSK_INSTITUTION,
        "timeout": 2.0,
        "pool_size": 1,
        **kw,
    }
    return Sip2Settings("127.0.0.1", port, *KIOSK_LOGIN, **options)  # type: ignore[arg-type]


@asynccontextmanager
async def demo(tmp_path: Path, quirks: ServerQuirks | None = None, **kw: object) -> AsyncIterator[DemoIls]:
    async with DemoIls(tmp_path / "ils.sqlite", clock=lambda: NOW, quirks=quirks, **kw) as ils:  # type: ignore[arg-type]
        yield ils


async def test_after_a_corrupted_reply_the_sequence_0_resend_gives_the_patron_the_real_outcome(
    tmp_path: Path,
) -> None:
    async with (
        demo(tmp_path, ServerQuirks(resend_sequence_zero=True)) as ils,
        FaultyLink("127.0.0.1", ils.port, plan=FaultPlan(corrupt_reply=0.5), seed=10) as link,
    ):
        circulation = Sip2Circulation(settings(link.port))
        for round_ in range(4):
            for item in DEMO_BORROW_ITEMS:
                txn = Transaction.new(NOW + timedelta(minutes=round_))
                outcome = await (
                    circulation.checkout(DEMO_PATRON_ID, item, txn)
                    if round_ % 2 == 0
                    else circulation.checkin(item, txn)
                )
                assert outcome.ok and outcome.item_id == item
        await circulation.close()
        assert link.stats["corrupted"] >= 5  # each answered with 97, each resent as AY0


async def test_a_strict_server_hangs_up_on_a_blank_nb_due_date_and_the_error_says_so(tmp_path: Path) -> None:
    async with demo(tmp_path, ServerQuirks(strict_dates=True)) as ils:
        circulation = Sip2Circulation(settings(ils.port))
        with pytest.raises(Sip2RequestRejected, match=r"blank .*nb due date.*nb_due_date = transaction"):
            await circulation.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], Transaction.new(NOW))
        await circulation.close()


async def test_a_strict_server_lends_and_renews_with_the_transaction_timestamp_as_nb_due_date(
    tmp_path: Path,
) -> None:
    async with demo(tmp_path, ServerQuirks(strict_dates=True)) as ils:
        circulation = Sip2Circulation(settings(ils.port, nb_due_date="transaction"))
        checkout = await circulation.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], Transaction.new(NOW))
        renewal = await circulation.renew(DEMO_PATRON_ID, DEMO_EXISTING_LOAN, Transaction.new(NOW))
        # Offline replays keep the due date the patron was given, whatever the online choice.
        given = datetime(2025, 3, 1, 20, 0)
        replay = Transaction.new(NOW - timedelta(hours=2), offline=True, due_date=given)
        offline = await circulation.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[1], replay)
        await circulation.close()
        assert checkout.ok and renewal.ok and offline.ok
        applied = {(t.operation, t.item_id): t for t in ils.applied_transactions()}
        assert applied[("checkout", DEMO_BORROW_ITEMS[0])].nb_due == NOW  # the transaction's own time
        assert checkout.due is not None and checkout.due > NOW + timedelta(days=7)  # the server's loan period
        assert applied[("checkout", DEMO_BORROW_ITEMS[1])].nb_due == given and offline.due == given


def test_the_nb_due_date_choice_is_validated_and_defaults_to_the_profile() -> None:
    assert Sip2Settings("h", 1, "u", "p").online_nb_due_date == "blank"
    assert Sip2Settings("h", 1, "u", "p", nb_due_date="transaction").online_nb_due_date == "transaction"
    with pytest.raises(ValueError, match="nb_due_date must be one of blank, transaction"):
        Sip2Settings("h", 1, "u", "p", nb_due_date="today")


async def test_a_loan_answered_in_latin1_to_a_utf8_kiosk_is_reported_with_its_text(tmp_path: Path) -> None:
    async with demo(tmp_path, charset="iso-8859-1") as ils:
        circulation = Sip2Circulation(settings(ils.port, charset="utf-8", fallback_charset="iso-8859-1"))
        outcome = await circulation.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], Transaction.new(NOW))
        account = await circulation.patron(DEMO_PATRON_ID, None, Transaction.new(NOW))
        await circulation.close()
    assert outcome.ok and outcome.screen_message.startswith("Lånt til")  # fixed fields read, text repaired
    assert account.name == "Máret Ánne Sara"


async def test_without_a_fallback_the_undecodable_text_gets_replacement_marks(tmp_path: Path) -> None:
    async with demo(tmp_path, charset="iso-8859-1") as ils:
        circulation = Sip2Circulation(settings(ils.port, charset="utf-8", fallback_charset=""))
        outcome = await circulation.checkout(DEMO_PATRON_ID, DEMO_BORROW_ITEMS[0], Transaction.new(NOW))
        await circulation.close()
    assert outcome.ok and outcome.screen_message.startswith("L\ufffdnt til")


async def test_a_request_the_server_cannot_read_in_its_charset_is_a_charset_mismatch_not_three_resends(
    tmp_path: Path,
) -> None:
    async with demo(tmp_path, charset="utf-8") as ils:
        circulation = Sip2Circulation(settings(ils.port, charset="iso-8859-1"))
        with pytest.raises(Sip2CharsetMismatch, match=r"character set mismatch.*AA.*iso-8859-1") as caught:
            await circulation.checkout("Måret-1", DEMO_BORROW_ITEMS[0], Transaction.new(NOW))
        assert not isinstance(caught.value, CirculationNoReply)  # the server did not act on it
        assert "probe --test-patron" in str(caught.value)
        assert ils.requests_handled == 4  # 94, 98, then 96 twice: resent once, not three times
        await circulation.close()


async def test_the_faulty_link_corrupts_only_the_share_it_is_told_to(tmp_path: Path) -> None:
    async with demo(tmp_path) as ils:
        delayed, noisy = FaultPlan(delay_reply=1.0, delay_seconds=0.0), FaultPlan(corrupt_reply=1.0)
        for plan, corrupted in ((delayed, False), (noisy, True)):  # noisy: every reply, never a resent one
            async with FaultyLink("127.0.0.1", ils.port, plan=plan, seed=3) as link:
                circulation = Sip2Circulation(settings(link.port))
                for item in DEMO_BORROW_ITEMS:
                    assert (await circulation.item_status(item)).found
                await circulation.close()
            assert (link.stats["corrupted"] > 0) is corrupted and link.stats["replies"] >= 5
