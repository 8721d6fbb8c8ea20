"""Sip2Client over real TCP on 127.0.0.1: the demo ILS, and scripted ACSs that misbehave on purpose."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import pytest

from server_api.circulation import CirculationNoReply, CirculationProtocolError, CirculationUnavailable
from server_api.demo_ils import (
    DEMO_PATRON_ID,
    DEMO_PATRON_PIN,
    KIOSK_INSTITUTION,
    KIOSK_LOCATION,
    KIOSK_LOGIN,
    DemoIls,
)
from server_api.sip2.client import Sip2Client, Sip2Settings
from server_api.sip2.codec import Decoded, Framer, decode_frame, encode
from server_api.sip2.messages import (
    AcsStatus,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RequestAcsResend,
    RequestScResend,
    ScStatus,
)

T = datetime(2024, 3, 5, 14, 7, 9)

# A scripted ACS: respond(decoded, connection_number) returns the bytes to send (or None for silence).
Responder = Callable[[Decoded, int], bytes | None]


def standard_reply(decoded: Decoded) -> bytes:
    """The plain correct answer to the few requests these tests use."""
    msg = decoded.message
    reply: Message
    if isinstance(msg, LoginRequest):
        reply = LoginResponse(ok=msg.login_password == "pw")
    elif isinstance(msg, ScStatus):
        reply = AcsStatus(date_time_sync=T, institution_id="X", supported_messages="Y" * 16, offline_ok=True)
    elif isinstance(msg, ItemInformationRequest):
        reply = ItemInformationResponse(
            circulation_status="03",
            transaction_date=T,
            item_identifier=msg.item_identifier,
            title_identifier="Sult",
        )
    else:
        raise AssertionError(f"unexpected {msg}")
    return encode(reply, seq=decoded.seq)


@asynccontextmanager
async def scripted_acs(respond: Responder) -> AsyncIterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        framer = Framer()
        try:
            while chunk := await asyncio.wait_for(reader.read(4096), timeout=10):
                for frame in framer.feed(chunk):
                    received.append(frame)
                    out = respond(decode_frame(frame), number)
                    if out is not None:
                        writer.write(out)
                        await writer.drain()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], received
    finally:
        server.close()


def settings(port: int, **kw: object) -> Sip2Settings:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "user": "u",
        "password": "pw",
        "timeout": 0.5,
    }
    base.update(kw)
    return Sip2Settings(**base)  # type: ignore[arg-type]


def item_request(item: str = "1") -> ItemInformationRequest:
    return ItemInformationRequest(transaction_date=T, institution_id="X", item_identifier=item)


async def test_login_and_patron_information_against_demo_ils(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="server_api")
    async with DemoIls() as ils:
        s = Sip2Settings(
            "127.0.0.1",
            ils.port,
            *KIOSK_LOGIN,
            location=KIOSK_LOCATION,
            institution=KIOSK_INSTITUTION,
            terminal_password="terminal-secret",
            transcript=True,
        )
        client = Sip2Client(s)
        try:
            await client.connect()
            assert client.acs_status is not None
            assert client.acs_status.offline_ok and client.acs_status.retries_allowed == 3
            assert client.acs_status.library_name == "Tromsø bibliotek og byarkiv"
            reply = await client.request(
                PatronInformationRequest(
                    transaction_date=T,
                    summary="  Y       ",
                    institution_id=KIOSK_INSTITUTION,
                    patron_identifier=DEMO_PATRON_ID,
                    terminal_password="terminal-secret",
                    patron_password=DEMO_PATRON_PIN,
                )
            )
        finally:
            await client.close()
    assert isinstance(reply, PatronInformationResponse)
    assert reply.personal_name == "Máret Ánne Sara" and reply.valid_patron_password == "Y"
    assert len(reply.charged_items) == 1 and reply.charged_items_count == 1
    log_text = caplog.text
    assert "SC -> ACS 63" in log_text and "CNkiosk-tromso" in log_text  # the transcript is there
    for secret in (KIOSK_LOGIN[1], "terminal-secret", f"AD{DEMO_PATRON_PIN}"):
        assert secret not in log_text


async def test_wrong_login_and_refused_connection_are_unavailable() -> None:
    async with DemoIls() as ils:
        client = Sip2Client(Sip2Settings("127.0.0.1", ils.port, KIOSK_LOGIN[0], "wrong"))
        with pytest.raises(CirculationUnavailable, match="login refused"):
            await client.request(item_request())
        assert not client.connected
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CirculationUnavailable):
        await Sip2Client(settings(port)).request(item_request())


async def test_timeout_raises_no_reply_and_next_request_reconnects() -> None:
    def respond(decoded: Decoded, conn: int) -> bytes | None:
        if isinstance(decoded.message, ItemInformationRequest) and conn == 1:
            return None  # swallow the first item request: the ACS "hangs"
        return standard_reply(decoded)

    async with scripted_acs(respond) as (port, received):
        client = Sip2Client(settings(port, timeout=0.3))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(CirculationNoReply):
            await client.request(item_request())
        assert loop.time() - started < 2.0
        assert not client.connected
        reply = await client.request(item_request("2"))  # new connection, logs in again
        assert isinstance(reply, ItemInformationResponse) and reply.item_identifier == "2"
        logins = [f for f in received if f.startswith(b"93")]
        assert len(logins) == 2
        await client.close()


async def test_bad_checksum_from_acs_is_answered_with_97() -> None:
    def respond(decoded: Decoded, conn: int) -> bytes | None:
        if isinstance(decoded.message, RequestAcsResend):
            return good[-1]
        out = standard_reply(decoded)
        if isinstance(decoded.message, ItemInformationRequest):
            good.append(out)
            return out[:-2] + (b"0" if out[-2:-1] != b"0" else b"1") + b"\r"  # corrupt the checksum
        return out

    good: list[bytes] = []
    async with scripted_acs(respond) as (port, received):
        client = Sip2Client(settings(port))
        reply = await client.request(item_request())
        assert isinstance(reply, ItemInformationResponse)
        assert received[-1].startswith(b"97AZ")
        await client.close()


async def test_endless_bad_checksums_give_up_with_protocol_error() -> None:
    def respond(decoded: Decoded, conn: int) -> bytes | None:
        if isinstance(decoded.message, ItemInformationRequest | RequestAcsResend):
            return b"18030201" + b"20240305    140709AB1|AJx|AY0AZ0000\r"
        return standard_reply(decoded)

    async with scripted_acs(respond) as (port, received):
        with pytest.raises(CirculationProtocolError):
            await Sip2Client(settings(port)).request(item_request())
        assert sum(1 for f in received if f.startswith(b"97")) == 3  # bounded


async def test_96_makes_the_client_resend_the_same_bytes() -> None:
    def respond(decoded: Decoded, conn: int) -> bytes | None:
        if isinstance(decoded.message, ItemInformationRequest) and not asked:
            asked.append(True)
            return encode(RequestScResend(), seq=None)
        return standard_reply(decoded)

    asked: list[bool] = []
    async with scripted_acs(respond) as (port, received):
        client = Sip2Client(settings(port))
        assert isinstance(await client.request(item_request()), ItemInformationResponse)
        item_frames = [f for f in received if f.startswith(b"17")]
        assert len(item_frames) == 2 and item_frames[0] == item_frames[1]
        await client.close()


async def test_wrong_sequence_number_and_garbage_are_protocol_errors() -> None:
    def respond(decoded: Decoded, conn: int) -> bytes | None:
        if isinstance(decoded.message, ItemInformationRequest):
            item = decoded.message.item_identifier
            if item == "seq":
                return encode(
                    ItemInformationResponse(transaction_date=T, item_identifier=item, title_identifier="x"),
                    seq=((decoded.seq or 0) + 1) % 10,
                )
            if item == "garbage":
                return b"\xff\xfegarbage\r"
            if item == "wrongtype":
                return encode(LoginResponse(ok=True), seq=decoded.seq)
        if isinstance(decoded.message, RequestAcsResend):
            return b"\xff\xfegarbage\r"  # garbage has no checksum: asked again, garbage again
        return standard_reply(decoded)

    async with scripted_acs(respond) as (port, _):
        client = Sip2Client(settings(port))
        for bad in ("seq", "garbage", "wrongtype"):
            with pytest.raises(CirculationProtocolError):
                await client.request(item_request(bad))
            assert not client.connected
        assert isinstance(await client.request(item_request()), ItemInformationResponse)  # recovers
        await client.close()


async def test_requests_on_one_connection_are_serialised() -> None:
    async with scripted_acs(lambda d, c: standard_reply(d)) as (port, _):
        client = Sip2Client(settings(port))
        replies = await asyncio.gather(*(client.request(item_request(str(n))) for n in range(12)))
        assert [r.item_identifier for r in replies] == [str(n) for n in range(12)]  # type: ignore[attr-defined]
        await client.close()


async def test_ping_proves_the_library_system_answers_and_fails_typed_when_it_does_not():
    from server_api.circulation import CirculationUnavailable
    from server_api.demo_ils import KIOSK_LOGIN, DemoIls
    from server_api.sip2.circulation import Sip2Circulation
    from server_api.sip2.client import Sip2Settings

    async with DemoIls() as ils:
        user, password = KIOSK_LOGIN
        circulation = Sip2Circulation(Sip2Settings("127.0.0.1", ils.port, user, password, timeout=2))
        await circulation.ping()
        port = ils.port
        await circulation.close()
    closed = Sip2Circulation(Sip2Settings("127.0.0.1", port, user, password, timeout=2))
    with pytest.raises(CirculationUnavailable):
        await closed.ping()
