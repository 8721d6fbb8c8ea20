"""Receipts by e-mail, end to end: the real station (simulated pad, ESC/POS simulator) through the gateway
(`kiosk-gateway serve` under uvicorn on 127.0.0.1) to the demo ILS on TCP, and the gateway's mail going
over STARTTLS with SMTP AUTH to an aiosmtpd server on 127.0.0.1 (its certificate from a CA the test
makes). The kiosk only ever sees the address masked; the gateway looks it up when it sends and keeps it
nowhere (not in its database, not in its log)."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kiosk.core import Action, ScreenName, SessionPolicy, Text
from kiosk.demo import DemoEnvironment, handle_stack, log_in
from kiosk.station import Observation, ReceiptEmailed
from server_api.demo_ils.data import DEMO_PATRON_ID
from tests.gateway.servers import GatewayProcess, ThreadedIls, enroll
from tests.printer.mail_server import (
    Mailbox,
    mail_gateway_config,
)

TROMSO, HARSTAD = "2190000", "2190100"
ADDRESS = "maret.anne.sara@example.org"  # the demo ILS's BE for DEMO_PATRON_ID


@dataclass
class Site:
    ils: ThreadedIls
    gateway: GatewayProcess
    mailbox: Mailbox
    config: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One library system, gateway and mail server for the module (a gateway takes seconds to start)."""
    with mail_gateway_config(tmp_path_factory.mktemp("email-receipts")) as (config, mailbox, ils):
        process = GatewayProcess(config, log_level="info").start()
        try:
            yield Site(ils, process, mailbox, config)
        finally:
            process.stop()


@pytest.fixture(autouse=True)
def empty_mailbox(request: pytest.FixtureRequest) -> None:
    if "site" in request.fixturenames:  # the demo's test needs no site of its own
        site: Site = request.getfixturevalue("site")
        site.mailbox.messages.clear()
        site.mailbox.refusing = False


@pytest.fixture
async def env(site: Site, tmp_path: Path) -> AsyncIterator[DemoEnvironment]:
    token = await asyncio.to_thread(enroll, site.gateway.url, site.config, TROMSO, "Kiosk 1")
    async with DemoEnvironment(
        tmp_path / "kiosk",
        ils_address=("127.0.0.1", site.ils.port),
        gateway_url=site.gateway.url,
        gateway_token=token,
        policy=SessionPolicy(goodbye_time=timedelta(seconds=30)),
    ) as environment:
        yield environment


async def borrow_and_finish(env: DemoEnvironment, items: list[str], language: str = "nb") -> None:
    assert env.station is not None and await log_in(env)
    env.station.set_language(language)
    await handle_stack(env, Action.BORROW, items)
    env.station.press(Action.FINISH)
    await env.wait_for(lambda s: s.name is ScreenName.RECEIPT)


async def emailed(env: DemoEnvironment) -> ReceiptEmailed:
    assert env.station is not None
    seen: list[Observation] = []
    env.station.add_observer(seen.append)
    env.station.press(Action.EMAIL_RECEIPT)
    for _ in range(600):  # bounded: 30 s
        done = [o for o in seen if isinstance(o, ReceiptEmailed)]
        if done:
            return done[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the station never heard back about the e-mail receipt")


async def test_the_receipt_goes_by_email_to_the_address_the_library_system_has_and_the_kiosk_sees_it_masked(
    site: Site, env: DemoEnvironment
) -> None:
    assert env.station is not None
    await borrow_and_finish(env, env.demo_borrow_items[:2], "en")
    screen = env.station.screen
    assert Action.EMAIL_RECEIPT in screen.actions and Action.PRINT_RECEIPT in screen.actions
    assert screen.details == (Text.of("receipt.email_to", address="m•••@e•••.org"),)
    account = env.station.session.identity.account
    assert account is not None and account.email == "m•••@e•••.org"  # the kiosk never had the address

    result = await emailed(env)
    assert result.ok, result.error
    goodbye = await env.wait_for(lambda s: s.name is ScreenName.GOODBYE)
    assert goodbye.message == Text("goodbye.receipt_emailed")
    (mail,) = site.mailbox.messages
    assert mail["To"] == ADDRESS and "bibliotek@example.org" in mail["From"]
    assert (
        mail["Subject"] == "Your receipt from Tromsø bibliotek og byarkiv"
        and mail["Content-Language"] == "en"
    )
    body = mail.get_content()
    assert "Loans" in body and "Due: " in body
    for item in env.demo_borrow_items[:2]:
        assert item in body
    assert site.mailbox.logins  # SMTP AUTH over STARTTLS (the server refuses AUTH in the clear)
    assert env.printer.sim.receipts() == []  # nothing on paper

    await env.station.settle()
    stored = b"".join(p.read_bytes() for p in (site.config.parent).glob("gateway.sqlite*"))
    assert ADDRESS.encode() not in stored and b"maret.anne" not in stored
    assert site.gateway.log_path is not None
    assert ADDRESS not in site.gateway.log_path.read_text(encoding="utf-8", errors="replace")


async def test_a_receipt_the_mail_server_refuses_is_said_on_the_goodbye_screen(
    site: Site, env: DemoEnvironment
) -> None:
    assert env.station is not None
    await borrow_and_finish(env, env.demo_borrow_items[2:4])
    site.mailbox.refusing = True
    result = await emailed(env)
    assert not result.ok and "mail server refused" in result.error
    goodbye = await env.wait_for(lambda s: s.message == Text("goodbye.email_failed"))
    assert goodbye.name is ScreenName.GOODBYE and site.mailbox.messages == []


def post(site: Site, token: str, **body: Any) -> httpx.Response:
    receipt = {
        "patron_id": DEMO_PATRON_ID,
        "language": "nb",
        "subject": "Kvittering",
        "body": "Lån\n",
        **body,
    }
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{site.gateway.url}/v1/receipts", json=receipt, headers=headers, timeout=30)


def test_the_gateway_sends_only_where_the_library_enables_it_and_only_to_the_cards_own_address(
    site: Site,
) -> None:
    tromso = enroll(site.gateway.url, site.config, TROMSO, "Kiosk 2")
    harstad = enroll(site.gateway.url, site.config, HARSTAD, "Kiosk 3")
    off = post(site, harstad)
    assert off.status_code == 404 and off.json()["error"] == "email_receipts_off"
    patron = httpx.post(
        f"{site.gateway.url}/v1/patrons",
        json={
            "patron_id": "219010000002",
            "pin": None,
            "txn": {"id": "9a6a3b84-7f57-4a0e-8f0e-2f4f4b3f5d11", "at": "2026-12-01T12:00:00"},
        },
        headers={"Authorization": f"Bearer {harstad}"},
        timeout=30,
    )
    assert patron.status_code == 200 and patron.json()["account"]["email"] == ""  # not even masked
    nobody = post(site, tromso, patron_id="219000000003")  # the library system has no address
    assert nobody.status_code == 409 and nobody.json()["error"] == "no_email_address"
    assert post(site, tromso, patron_id="219099999999").status_code == 409  # no such card
    for hostile in ({"subject": "Hi\r\nBcc: everyone@example.org"}, {"body": "x" * 20_001},
                    {"language": "nb\r\n"}, {"to": "someone@example.org"}):  # fmt: skip
        answer = post(site, tromso, **hostile)
        assert answer.status_code == 422, hostile
        assert "everyone@example.org" not in answer.text and "someone@" not in answer.text
    assert site.mailbox.messages == []
    sent = post(site, tromso, body="Lån: Sofies verden\n")
    assert sent.status_code == 204
    (mail,) = site.mailbox.messages
    assert (
        mail["To"] == ADDRESS and mail["Content-Language"] == "nb" and "Sofies verden" in mail.get_content()
    )


def test_a_card_gets_at_most_five_email_receipts_a_minute(site: Site) -> None:
    tromso = enroll(site.gateway.url, site.config, TROMSO, "Kiosk 4")
    answers = [post(site, tromso, patron_id="219000000004").status_code for _ in range(6)]
    assert answers == [409] * 5 + [429]  # counted before the library system is asked, refused ones too


async def test_the_demo_saves_the_email_receipts_its_gateway_sends_beside_the_printed_ones(
    tmp_path: Path,
) -> None:
    async with DemoEnvironment(
        tmp_path, gateway=True, policy=SessionPolicy(goodbye_time=timedelta(0))
    ) as demo:
        await borrow_and_finish(demo, demo.demo_borrow_items[:1])
        assert (await emailed(demo)).ok
        saved = tmp_path / "receipts" / "mail-1.eml"
        assert saved.stat().st_mode & 0o777 == 0o600
        mail = email.message_from_bytes(saved.read_bytes(), policy=email.policy.default)
        assert mail["To"] == ADDRESS and mail["Content-Language"] == "nb"
