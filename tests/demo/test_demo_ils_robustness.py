"""The demo ILS stays up under bad clients: no traceback for any input (year-9999 dates, mangled frames),
bounded buffers, and fair service between connections."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server_api.demo_ils import DEMO_BORROW_ITEMS, DEMO_PATRON_ID, KIOSK_LOGIN, DemoIls
from server_api.demo_ils.server import MAX_REQUEST
from server_api.sip2.codec import Framer, decode, encode
from server_api.sip2.messages import (
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    HoldRequest,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    Message,
    PatronInformationRequest,
    RenewAllRequest,
    RenewRequest,
)

NOW = datetime(2025, 2, 10, 12, 0, 0)
LOGIN = encode(LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password=KIOSK_LOGIN[1]), seq=0)


@pytest.fixture
async def ils(tmp_path: Path) -> AsyncIterator[DemoIls]:
    async with DemoIls(tmp_path / "ils.sqlite", clock=lambda: NOW) as server:
        yield server


async def talk(port: int, *frames: bytes, timeout: float = 2.0) -> list[bytes]:
    """Send frames on one connection; the replies until the server goes quiet or hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"".join(frames))
    await writer.drain()
    framer, replies = Framer(), []
    try:
        while len(replies) < len(frames):
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            replies += framer.feed(chunk)
    except (TimeoutError, ConnectionError):
        pass
    writer.close()
    return replies


def requests_dated(at: datetime) -> list[Message]:
    item, patron = DEMO_BORROW_ITEMS[0], DEMO_PATRON_ID
    return [
        CheckoutRequest(
            transaction_date=at,
            nb_due_date=at,
            institution_id="X",
            patron_identifier=patron,
            item_identifier=item,
        ),
        CheckoutRequest(
            no_block=True, transaction_date=at, nb_due_date=at, patron_identifier=patron, item_identifier=item
        ),
        CheckinRequest(transaction_date=at, return_date=at, item_identifier=item),
        CheckinRequest(no_block=True, transaction_date=at, return_date=at, item_identifier=item),
        RenewRequest(transaction_date=at, nb_due_date=at, patron_identifier=patron, item_identifier=item),
        RenewRequest(
            no_block=True, transaction_date=at, nb_due_date=at, patron_identifier=patron, item_identifier=item
        ),
        RenewAllRequest(transaction_date=at, patron_identifier=patron),
        HoldRequest(transaction_date=at, patron_identifier=patron, item_identifier=item),
        PatronInformationRequest(transaction_date=at, patron_identifier=patron, summary="  Y       "),
        ItemInformationRequest(transaction_date=at, item_identifier=item),
        EndPatronSessionRequest(transaction_date=at, patron_identifier=patron),
    ]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


@pytest.mark.parametrize(
    "at",
    [datetime(9999, 12, 31, 23, 59, 59), datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)],
    ids=["year-9999", "year-1000", "year-9999-utc"],
)
async def test_dates_the_rules_cannot_use_are_refused_with_an_answer_not_a_traceback(
    ils: DemoIls, caplog: pytest.LogCaptureFixture, at: datetime
) -> None:
    caplog.set_level(logging.DEBUG)
    requests = requests_dated(at)
    frames = [encode(message, seq=(n + 1) % 10) for n, message in enumerate(requests)]
    replies = await talk(ils.port, LOGIN, *frames)
    assert len(replies) == len(frames) + 1  # every one answered, none hung up on
    for request, frame in zip(requests, replies[1:], strict=True):
        reply = decode(frame)
        assert getattr(reply, "ok", False) is False, request.CODE
        assert any("Ugyldig forespørsel" in line for line in getattr(reply, "screen_message", ())), reply
    no_tracebacks(caplog)
    assert ils.applied_transactions() == []  # nothing applied with a date it cannot use


async def test_mangled_frames_never_give_a_traceback_and_the_server_keeps_serving(
    ils: DemoIls, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(1)
    templates = [encode(m, seq=1) for m in requests_dated(NOW)] + [LOGIN]
    for _connection in range(60):
        mangled = []
        for _ in range(5):
            frame = bytearray(rng.choice(templates)[:-1])
            for _ in range(rng.randint(1, 4)):
                if not frame:
                    break
                cut = rng.randrange(len(frame))
                action = rng.randrange(4)
                if action == 0:
                    frame[cut] = rng.randrange(256)
                elif action == 1:
                    del frame[cut:]
                elif action == 2:
                    frame[cut:cut] = rng.randbytes(rng.randint(1, 20))
                elif cut + 8 <= len(frame):
                    frame[cut : cut + 8] = rng.choice([b"99991231", b"00000000", b"20251399", b"--------"])
            mangled.append(bytes(frame).replace(b"\r", b"") + b"\r")
        await talk(ils.port, LOGIN, *mangled, timeout=0.3)
    no_tracebacks(caplog)
    replies = await talk(
        ils.port, LOGIN, encode(ItemInformationRequest(item_identifier=DEMO_BORROW_ITEMS[0]), seq=1)
    )
    assert isinstance(decode(replies[-1]), ItemInformationResponse)


async def test_a_frame_without_end_is_cut_off_at_the_request_limit(ils: DemoIls) -> None:
    replies = await talk(ils.port, LOGIN, b"17" + b"x" * (MAX_REQUEST + 10))
    assert len(replies) == 1  # the login answered, then the endless frame made it hang up


async def test_four_clients_pipelining_2000_requests_each_do_not_hold_up_a_fifth(ils: DemoIls) -> None:
    request = encode(
        ItemInformationRequest(item_identifier=DEMO_BORROW_ITEMS[0]), seq=None, error_detection=False
    )
    login = LoginRequest(login_user_id=KIOSK_LOGIN[0], login_password=KIOSK_LOGIN[1])
    flood = encode(login, seq=None, error_detection=False) + request * 2000
    flooders = []
    for _ in range(4):
        reader, writer = await asyncio.open_connection("127.0.0.1", ils.port)
        writer.write(flood)
        flooders.append((reader, writer))

    async def drain_replies(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    readers = [asyncio.create_task(drain_replies(r)) for r, _ in flooders]
    await asyncio.sleep(0.05)  # the floods are in
    reader, writer = await asyncio.open_connection("127.0.0.1", ils.port)
    writer.write(LOGIN)
    await reader.readuntil(b"\r")
    before = ils.requests_handled
    writer.write(encode(ItemInformationRequest(item_identifier=DEMO_BORROW_ITEMS[1]), seq=1))
    reply = await reader.readuntil(b"\r")
    served_meanwhile = ils.requests_handled - before
    assert isinstance(decode(reply), ItemInformationResponse)
    assert served_meanwhile < 40, f"{served_meanwhile} flood requests were served before ours"
    assert ils.requests_handled < 4 * 2001  # and the floods were still going
    for _, w in [*flooders, (reader, writer)]:
        w.close()
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
