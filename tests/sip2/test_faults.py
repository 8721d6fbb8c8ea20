"""A misbehaving ACS on a real loopback socket: every fault gives a typed error within the timeout, and the
same client recovers for the next request. Also keep-alive, 98 limits, charsets and privacy (pools are in
test_pool.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from server_api.circulation import CirculationNoReply, CirculationProtocolError
from server_api.sip2.client import Sip2Client, Sip2ConfigError, Sip2Settings
from server_api.sip2.codec import Decoded, decode_frame, encode
from server_api.sip2.errors import (
    Sip2BadReply,
    Sip2ChecksumFailed,
    Sip2ConnectionLost,
    Sip2GarbledReply,
    Sip2ReplyTooLarge,
    Sip2RequestNotEncodable,
    Sip2ResendLimit,
    Sip2SequenceMismatch,
    Sip2Timeout,
    Sip2UnexpectedReply,
)
from server_api.sip2.messages import (
    AcsStatus,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginResponse,
    PatronInformationRequest,
    RequestAcsResend,
    RequestScResend,
)
from tests.sip2.peers import TIMEOUT, Acs, Action, T, misbehaving_acs


def settings(port: int, **kw: object) -> Sip2Settings:
    options: dict[str, object] = {"timeout": TIMEOUT, **kw}
    return Sip2Settings("127.0.0.1", port, "u", "pw", **options)  # type: ignore[arg-type]


def item(item_id: str) -> ItemInformationRequest:
    return ItemInformationRequest(transaction_date=T, institution_id="X", item_identifier=item_id)


def corrupt_checksum(frame: bytes) -> bytes:
    return frame[:-2] + (b"0" if frame[-2:-1] != b"0" else b"1") + b"\r"


def with_seq(good: bytes, seq: int) -> bytes:
    msg = decode_frame(good).message
    return encode(msg, seq=seq)


# Each fault: the bytes (or actions) for the item "bad" (and for each 97), and the typed error it must give.
# With error detection on, a frame without its checksum is damaged: asked for again (97), then refused.
FAULTS: dict[str, tuple[Callable[[Decoded, bytes, Acs], Action], type[Exception], str]] = {
    "garbled": (lambda d, g, a: [b"\xff\xfe garbage \x01\r"], Sip2ChecksumFailed, "still missing"),
    "truncated frame": (
        lambda d, g, a: [(g or a.last_good)[:12] + b"\r"],  # type: ignore[attr-defined]
        Sip2ChecksumFailed,
        "still missing",
    ),
    "garbled, no error detection": (
        lambda d, g, a: [b"\xff\xfe garbage \x01\r"],
        Sip2GarbledReply,
        "cannot decode",
    ),
    "truncated frame, no error detection": (lambda d, g, a: [g[:12] + b"\r"], Sip2GarbledReply, "truncated"),
    "truncated, then silence": (lambda d, g, a: [g[:20]], Sip2Timeout, "incomplete"),
    "oversized": (lambda d, g, a: [b"18" + b"x" * 5000], Sip2ReplyTooLarge, "exceed"),
    "bad checksum forever": (
        lambda d, g, a: [corrupt_checksum(g or a.last_good)],  # type: ignore[attr-defined]
        Sip2ChecksumFailed,
        "checksum",
    ),
    "96 forever": (lambda d, g, a: [encode(RequestScResend(), seq=None)], Sip2ResendLimit, "resent"),
    "wrong sequence number": (
        lambda d, g, a: [with_seq(g, ((d.seq or 0) + 1) % 10)],
        Sip2SequenceMismatch,
        "sequence number",
    ),
    "wrong message type": (
        lambda d, g, a: [encode(LoginResponse(ok=True), seq=d.seq)],
        Sip2UnexpectedReply,
        "expected a 18",
    ),
    "closes before replying": (lambda d, g, a: ["close"], Sip2ConnectionLost, "without replying"),
    "closes mid-reply": (
        lambda d, g, a: [g[: len(g) // 2], "close"],
        Sip2ConnectionLost,
        "middle of a reply",
    ),
    "never answers": (lambda d, g, a: None, Sip2Timeout, "no reply"),
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_gives_typed_error_in_time_and_the_connection_recovers(name: str) -> None:
    behave, error, words = FAULTS[name]

    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        message = decoded.message
        if isinstance(message, ItemInformationRequest):
            acs.last_good = good  # type: ignore[attr-defined]
            if message.item_identifier == "good":
                return [good]
        return behave(decoded, good, acs)

    async with misbehaving_acs(fault) as acs:
        detection = "no error detection" not in name
        client = Sip2Client(settings(acs.port, max_message_size=1024, error_detection=detection))
        assert isinstance(await client.request(item("good")), ItemInformationResponse)
        started = time.monotonic()
        with pytest.raises(error, match=words) as caught:
            await client.request(item("bad"))
        elapsed = time.monotonic() - started
        # Sent, so the outcome is unknown: every one of these is a "no reply" the kiosk reconciles.
        assert isinstance(caught.value, CirculationNoReply)
        assert elapsed < TIMEOUT * 4 + 0.5, f"{name} took {elapsed:.2f}s"
        assert not client.connected  # dropped: a confused connection is never reused
        reply = await client.request(item("good"))  # reconnects and logs in again
        assert isinstance(reply, ItemInformationResponse) and reply.item_identifier == "good"
        assert client.logins == 2 and acs.count(b"93") == 2
        await client.close()


async def test_bad_reply_errors_are_also_protocol_errors() -> None:
    assert issubclass(Sip2BadReply, CirculationProtocolError) and issubclass(Sip2BadReply, CirculationNoReply)


async def test_one_bad_checksum_is_answered_with_97_and_the_resent_reply_is_used() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        if isinstance(decoded.message, RequestAcsResend):
            return [acs.last_good]  # type: ignore[attr-defined]
        acs.last_good = good  # type: ignore[attr-defined]
        return [corrupt_checksum(good)]

    async with misbehaving_acs(fault) as acs:
        client = Sip2Client(settings(acs.port))
        reply = await client.request(item("1"))
        assert isinstance(reply, ItemInformationResponse) and reply.item_identifier == "1"
        assert acs.received[-1] == b"97AZFEF5\r" and client.connected and client.logins == 1
        await client.close()


async def test_96_once_resends_identical_bytes_with_the_same_sequence_number() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        if acs.count(b"17") == 1:
            return [encode(RequestScResend(), seq=None)]
        return [good]

    async with misbehaving_acs(fault) as acs:
        client = Sip2Client(settings(acs.port))
        assert isinstance(await client.request(item("1")), ItemInformationResponse)
        first, second = [f for f in acs.received if f.startswith(b"17")]
        assert first == second and b"AY2" in first  # 93 had 0, 99 had 1
        await client.close()


async def test_retry_limit_and_timeout_come_from_the_98() -> None:
    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        if good:
            acs.last_good = good  # type: ignore[attr-defined]
        return [corrupt_checksum(acs.last_good)]  # type: ignore[attr-defined]

    async with misbehaving_acs(fault) as acs:
        acs.status = AcsStatus(
            date_time_sync=T,
            institution_id="X",
            supported_messages="Y" * 16,
            retries_allowed=1,
            timeout_period=10,
        )
        client = Sip2Client(settings(acs.port, timeout=5.0))
        with pytest.raises(Sip2ChecksumFailed, match="after 1 resend"):
            await client.request(item("1"))
        assert acs.count(b"97") == 1  # the 98 allowed one retry, not our default three
        assert client.reply_timeout == 1.0  # 98 said 1.0 s: shorter than the configured 5 s
        await client.close()
    client = Sip2Client(settings(1))
    assert client.resend_limit == 3 and client.reply_timeout == TIMEOUT  # before any 98: ours


@pytest.mark.parametrize(
    "mangle",
    [
        lambda f: f[:-5] + f[-5:-1].lower() + b"\r",  # lowercase hex
        lambda f: f[:-1] + b"\r\n",  # CRLF
        lambda f: f[:-1] + b"\n",  # LF only
        lambda f: f + b"\x00\x00",  # trailing NULs
    ],
    ids=["lowercase-hex", "crlf", "lf", "nul"],
)
async def test_lenient_parsing_of_real_servers_over_the_socket(mangle: Callable[[bytes], bytes]) -> None:
    async with misbehaving_acs(lambda d, g, a: [mangle(g)]) as acs:
        client = Sip2Client(settings(acs.port))
        for n in range(2):  # and the stream stays in step
            reply = await client.request(item(f"i{n}"))
            assert isinstance(reply, ItemInformationResponse) and reply.item_identifier == f"i{n}"
        await client.close()


async def test_strict_mode_refuses_what_lenient_mode_accepts() -> None:
    async with misbehaving_acs(lambda d, g, a: [g[:-5] + g[-5:-1].lower() + b"\r"]) as acs:
        client = Sip2Client(settings(acs.port, strict=True))
        with pytest.raises(Sip2GarbledReply):
            await client.request(item("1"))
        await client.close()


# --- keep-alive ---------------------------------------------------------------------------------


async def test_keepalive_sends_99_when_idle_and_reconnects_after_the_acs_hangs_up() -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        client = Sip2Client(settings(acs.port, keepalive_interval=0.1))
        await client.connect()
        await asyncio.sleep(0.35)
        assert acs.count(b"99") >= 3  # one at login, then keep-alives
        # The ACS drops the connection (idle timeout on its side): the keep-alive logs in again.
        assert client._writer is not None
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__.startswith("misbehaving_acs.<locals>.handle"):  # type: ignore[union-attr]
                task.cancel()
        await asyncio.sleep(0.4)
        assert client.logins >= 2 and acs.count(b"93") >= 2
        assert isinstance(await client.request(item("1")), ItemInformationResponse)
        await client.close()
        before = len(acs.received)
        await asyncio.sleep(0.25)
        assert len(acs.received) == before  # closed: no keep-alive after close


# --- charsets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "text", "bad"),
    [("cp850", "Áŋte", "ŋ"), ("iso-8859-1", "Čáhppes", "Č"), ("ascii", "Hætta", "æ")],
)
async def test_unencodable_value_is_refused_before_sending_and_the_connection_stays(
    charset: str, text: str, bad: str
) -> None:
    async with misbehaving_acs(lambda d, g, a: [g]) as acs:
        client = Sip2Client(settings(acs.port, charset=charset))
        await client.connect()
        with pytest.raises(Sip2RequestNotEncodable) as caught:
            await client.request(item(text))
        message = str(caught.value)
        assert charset in message and repr(bad) in message and "AB" in message
        assert acs.count(b"17") == 0 and client.connected  # nothing sent, still logged in
        reply = await client.request(item("ok"))
        assert isinstance(reply, ItemInformationResponse) and client.logins == 1
        await client.close()


async def test_cp850_round_trip_of_norwegian_letters_over_the_socket() -> None:
    async with misbehaving_acs(lambda d, g, a: [g], charset="cp850") as acs:
        client = Sip2Client(settings(acs.port, charset="cp850"))
        reply = await client.request(item("Blåbærsyltetøy"))
        assert isinstance(reply, ItemInformationResponse) and reply.item_identifier == "Blåbærsyltetøy"
        assert "Blåbærsyltetøy".encode("cp850") in acs.received[-1]  # cp850 bytes on the wire
        await client.close()


def test_settings_refuse_an_unknown_charset_profile_or_key_without_cert() -> None:
    with pytest.raises(Sip2ConfigError, match="charset 'latin-99' is unknown"):
        Sip2Settings("h", 1, "u", "p", charset="latin-99")
    with pytest.raises(ValueError, match="unknown SIP2 profile 'sirsi'"):
        Sip2Settings("h", 1, "u", "p", profile="sirsi")
    with pytest.raises(Sip2ConfigError, match="without tls_cert_file"):
        Sip2Settings("h", 1, "u", "p", tls=True, tls_key_file="k.pem")
    folio = Sip2Settings.for_profile("folio", "h", 1, "u", "p")
    assert folio.charset == "cp850" and not folio.error_detection
    assert "secret-pass" not in repr(Sip2Settings("h", 1, "u", "secret-pass", terminal_password="x"))


# --- privacy --------------------------------------------------------------------------------------


async def test_secrets_never_reach_logs_or_errors_even_on_faults(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ("login-SECRET", "terminal-SECRET", "pin-SECRET")

    def fault(decoded: Decoded, good: bytes, acs: Acs) -> Action:
        return [b"64garbage AD" + secrets[2].encode() + b"|\r"]  # an ACS that echoes the PIN, garbled

    async with misbehaving_acs(fault) as acs:
        client = Sip2Client(
            Sip2Settings("127.0.0.1", acs.port, "u", secrets[0], timeout=TIMEOUT, transcript=True)
        )
        acs.status = AcsStatus(institution_id="X", supported_messages="Y" * 16)
        # login with a password the fake ACS refuses -> also exercise the refusal path
        with pytest.raises(CirculationNoReply) as caught:
            await client.request(
                PatronInformationRequest(
                    transaction_date=T,
                    institution_id="X",
                    patron_identifier="P",
                    terminal_password=secrets[1],
                    patron_password=secrets[2],
                )
            )
        await client.close()
    assert "SC -> ACS 63" in caplog.text and "AD***" in caplog.text  # the transcript is there, masked
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in str(caught.value)
        assert secret not in repr(client.settings)
    masked = PatronInformationRequest(institution_id="X", patron_identifier="P", patron_password=secrets[2])
    assert secrets[2] not in repr(masked)  # a message logged by accident does not show the PIN either
