"""One SIP2 connection from the kiosk (SC) to the library system (ACS), over asyncio TCP.

Rules:
- One request at a time per connection (SIP2 has no request ids): an `asyncio.Lock` serialises them.
- The connection logs in (93) as soon as it opens; the library system takes the transaction's branch
  from that login.
- Sequence numbers run 0..9; a reply must carry the request's number (when it carries one).
- A reply with a bad checksum -> we ask again with 97 (bounded); a 96 from the ACS -> we resend the same
  request with the same sequence number (bounded).
- After *any* error the connection is closed; the next request reconnects and logs in again.
- Errors are `server_api.circulation` exceptions: not reachable / login refused ->
  `CirculationUnavailable`; sent but no (valid) reply in time -> `CirculationNoReply`; a reply we cannot
  understand -> `CirculationProtocolError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from server_api.circulation import CirculationNoReply, CirculationProtocolError, CirculationUnavailable

from .codec import Framer, Sip2ChecksumError, Sip2DecodeError, Sip2EncodeError, decode_frame, encode
from .codec import redact_bytes as _redact
from .messages import (
    RESPONSE_FOR,
    AcsStatus,
    LoginRequest,
    LoginResponse,
    Message,
    RequestAcsResend,
    RequestScResend,
    ScStatus,
)

log = logging.getLogger(__name__)
transcript_log = logging.getLogger("server_api.sip2.transcript")

MAX_RESEND_ROUNDS = 3  # 97/96 exchanges per request before giving up


@dataclass(frozen=True)
class Sip2Settings:
    host: str
    port: int
    user: str
    password: str
    location: str = ""  # CP at login, AP on checkin; also "here" for routing
    institution: str = ""  # AO
    charset: str = "utf-8"
    timeout: float = 5.0  # seconds to wait for a reply (and to connect)
    error_detection: bool = True  # AY/AZ sequence numbers and checksums
    terminal_password: str = ""  # AC
    transcript: bool = False  # log every frame at DEBUG, secrets masked
    # Library/branch id (as the ILS sends it in CT) -> human name, for transit slips and screens.
    library_names: Mapping[str, str] = field(default_factory=dict)
    max_message_size: int = 64 * 1024


class Sip2Client:
    """A self-healing SIP2 connection: `request()` connects and logs in when needed."""

    def __init__(self, settings: Sip2Settings) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._framer = Framer(settings.max_message_size)
        self._frames: list[bytes] = []
        self._seq = -1
        self.acs_status: AcsStatus | None = None  # what the ACS said about itself at the last login

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        async with self._lock:
            if not self.connected:
                await self._connect()

    async def request(self, message: Message) -> Message:
        """Send one request and return its (type-checked) response."""
        async with self._lock:
            if self.connected and self._reader is not None and self._reader.at_eof():
                await self._drop()  # the ACS closed an idle connection: nothing was sent yet
            if not self.connected:
                await self._connect()
            try:
                return await self._exchange(message)
            except BaseException:
                await self._drop()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    # -- internals (called with the lock held) -------------------------------------------------------

    async def _connect(self) -> None:
        s = self.settings
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(s.host, s.port), timeout=s.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise CirculationUnavailable(f"cannot connect to SIP2 server {s.host}:{s.port}: {exc}") from exc
        self._framer = Framer(s.max_message_size)
        self._frames = []
        self._seq = -1
        try:
            login = LoginRequest(
                login_user_id=s.user, login_password=s.password, location_code=s.location or None
            )
            reply = await self._exchange(login)
            assert isinstance(reply, LoginResponse)
            if not reply.ok:
                raise CirculationUnavailable(f"SIP2 login refused for user {s.user!r}")
            status = await self._exchange(ScStatus())
            assert isinstance(status, AcsStatus)
            self.acs_status = status
        except CirculationNoReply as exc:
            await self._drop()
            raise CirculationUnavailable(f"SIP2 login got no reply: {exc}") from exc
        except BaseException:
            await self._drop()
            raise

    async def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % 10
        return self._seq

    async def _send(self, data: bytes) -> None:
        assert self._writer is not None
        if self.settings.transcript:
            transcript_log.debug("SC -> ACS %s", _redact(data, charset=self.settings.charset))
        try:
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), timeout=self.settings.timeout)
        except (OSError, TimeoutError) as exc:
            # Part of the request may have reached the ACS: we cannot say it did not happen.
            raise CirculationNoReply(f"sending to the SIP2 server failed: {exc}") from exc

    async def _receive_frame(self) -> bytes:
        assert self._reader is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout
        while not self._frames:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise CirculationNoReply(f"no reply from the SIP2 server within {self.settings.timeout}s")
            try:
                chunk = await asyncio.wait_for(self._reader.read(4096), timeout=remaining)
            except TimeoutError:
                raise CirculationNoReply(
                    f"no reply from the SIP2 server within {self.settings.timeout}s"
                ) from None
            except OSError as exc:
                raise CirculationNoReply(f"connection to the SIP2 server broke: {exc}") from exc
            if not chunk:
                raise CirculationNoReply("the SIP2 server closed the connection without replying")
            try:
                self._frames.extend(self._framer.feed(chunk))
            except Sip2DecodeError as exc:
                raise CirculationProtocolError(str(exc)) from exc
        frame = self._frames.pop(0)
        if self.settings.transcript:
            transcript_log.debug("ACS -> SC %s", _redact(frame, charset=self.settings.charset))
        return frame

    async def _exchange(self, message: Message) -> Message:
        s = self.settings
        seq = self._next_seq()
        try:
            request = encode(message, seq=seq, charset=s.charset, error_detection=s.error_detection)
            ask_again = encode(RequestAcsResend(), seq=None, charset=s.charset, error_detection=True)
        except Sip2EncodeError as exc:
            raise CirculationProtocolError(f"request cannot be encoded: {exc}") from exc
        expected = RESPONSE_FOR.get(type(message))
        await self._send(request)
        for _round in range(MAX_RESEND_ROUNDS + 1):
            frame = await self._receive_frame()
            try:
                decoded = decode_frame(frame, charset=s.charset)
            except Sip2ChecksumError:
                if _round == MAX_RESEND_ROUNDS:
                    break
                log.info("bad checksum from the SIP2 server; asking it to resend (97)")
                await self._send(ask_again)
                continue
            except Sip2DecodeError as exc:
                raise CirculationProtocolError(f"cannot decode SIP2 reply: {exc}") from exc
            reply = decoded.message
            if isinstance(reply, RequestScResend):
                if _round == MAX_RESEND_ROUNDS:
                    break
                log.info("SIP2 server asked for a resend (96)")
                await self._send(request)  # same bytes, same sequence number
                continue
            if s.error_detection and decoded.seq is not None and decoded.seq != seq:
                raise CirculationProtocolError(f"reply has sequence number {decoded.seq}, expected {seq}")
            if expected is not None and not isinstance(reply, expected):
                raise CirculationProtocolError(
                    f"expected a {expected.CODE} reply to {message.CODE}, got {reply.CODE}"
                )
            return reply
        raise CirculationProtocolError(f"no valid reply after {MAX_RESEND_ROUNDS} resend requests")


async def open_client(settings: Sip2Settings) -> Sip2Client:
    client = Sip2Client(settings)
    await client.connect()
    return client


__all__ = ["Sip2Client", "Sip2Settings", "open_client"]
