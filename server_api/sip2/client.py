"""One SIP2 connection from the kiosk (SC) to the library system (ACS), over asyncio TCP or TLS.

Rules:
- One request at a time per connection (SIP2 has no request ids): an `asyncio.Lock` serialises them.
- The connection logs in (93) as soon as it opens and asks for the ACS status (99/98); the library system
  takes the transaction's branch from that login.
- The conversation rules (sequence numbers, 96/97 resends, which reply answers which request, a missing
  checksum, a charset the server cannot read) are the sans-IO `conversation.ScConversation`; this module
  only moves its bytes. Resends are bounded by the 98's "retries allowed" (999 = unknown -> our default),
  never more than `MAX_RESEND_ROUNDS`.
- The reply timeout is the configured one, shortened to the 98's timeout period when that is set and
  shorter (never below `MIN_ACS_TIMEOUT`): the configured timeout bounds every wait.
- After *any* error but an unencodable request the connection is closed; the next request reconnects and
  logs in again. Errors are typed (`errors.py`) and are `server_api.circulation` exceptions.
- Optional keep-alive: a 99 after `keepalive_interval` seconds without traffic; if it fails the connection
  is dropped (and re-opened by the next keep-alive or request).
- Secrets (AD, AC, CO) never reach a log: the transcript (DEBUG on ``server_api.sip2.transcript``) masks
  them, and error messages never quote request bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from server_api.circulation import CirculationNoReply

from .conversation import MAX_RESEND_ROUNDS, Reply, SendAgain
from .errors import (
    Sip2ConnectFailed,
    Sip2ConnectionLost,
    Sip2LoginRefused,
    Sip2RequestNotEncodable,
    Sip2Timeout,
    Sip2TlsError,
)
from .messages import AcsStatus, LoginRequest, LoginResponse, Message, ScStatus
from .redaction import redact_bytes as _redact
from .settings import CHARSETS, Sip2ConfigError, Sip2Settings

log = logging.getLogger(__name__)
transcript_log = logging.getLogger("server_api.sip2.transcript")

MIN_ACS_TIMEOUT = 1.0  # seconds: a 98 timeout period shorter than this is not believed


class Sip2Client:
    """A self-healing SIP2 connection: `request()` connects and logs in when needed."""

    def __init__(self, settings: Sip2Settings) -> None:
        self.settings = settings
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._conversation = settings.conversation()
        self._last_activity = 0.0
        self._keepalive: asyncio.Task[None] | None = None
        self._closed = False
        self.acs_status: AcsStatus | None = None  # what the ACS said about itself at the last login
        self.logins = 0  # successful logins so far (each reconnect logs in again)

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    @property
    def healthy(self) -> bool:
        """Connected, and the ACS has not closed its side (as far as we can tell without sending)."""
        return self.connected and self._reader is not None and not self._reader.at_eof()

    async def connect(self) -> None:
        async with self._lock:
            if not self.healthy:
                await self._drop()
                await self._connect()

    async def request(self, message: Message) -> Message:
        """Send one request and return its (type-checked, matched) response."""
        return (await self.exchange(message)).message

    async def exchange(self, message: Message) -> Reply:
        """Send one request; its response with the raw frame (for staff logs) and charset repairs."""
        async with self._lock:
            if self.connected and not self.healthy:
                await self._drop()  # the ACS closed an idle connection: nothing was sent yet
            if not self.connected:
                await self._connect()
            try:
                return await self._converse(message)
            except Sip2RequestNotEncodable:
                raise  # nothing was sent: the connection is still in step
            except BaseException:
                await self._drop()
                raise

    async def close(self) -> None:
        self._closed = True
        task, self._keepalive = self._keepalive, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        async with self._lock:
            await self._drop()

    # -- timing from the 98 -----------------------------------------------------------------------------

    @property
    def reply_timeout(self) -> float:
        timeout = self.settings.timeout
        status = self.acs_status
        if status is not None and 0 < status.timeout_period < 999:
            timeout = min(timeout, max(status.timeout_period / 10, MIN_ACS_TIMEOUT))
        return timeout

    @property
    def resend_limit(self) -> int:
        status = self.acs_status
        if status is None or status.retries_allowed >= 999:
            return MAX_RESEND_ROUNDS
        return min(status.retries_allowed, MAX_RESEND_ROUNDS)

    # -- internals (called with the lock held) -------------------------------------------------------

    async def _connect(self) -> None:
        s = self.settings
        context = s.ssl_context()
        where = f"{s.host}:{s.port}"
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(
                    s.host,
                    s.port,
                    ssl=context,
                    server_hostname=(s.tls_server_name or s.host) if context else None,
                    ssl_handshake_timeout=s.timeout if context else None,
                ),
                timeout=s.timeout,
            )
        except ssl.SSLError as exc:
            raise Sip2TlsError(f"TLS handshake with SIP2 server {where} failed: {exc}") from exc
        except TimeoutError as exc:
            raise Sip2ConnectFailed(
                f"cannot connect to SIP2 server {where}: timed out after {s.timeout}s"
            ) from exc
        except OSError as exc:
            raise Sip2ConnectFailed(f"cannot connect to SIP2 server {where}: {exc.strerror or exc}") from exc
        self._conversation.reset()
        self.acs_status = None
        try:
            login = LoginRequest(
                login_user_id=s.user, login_password=s.password, location_code=s.location or None
            )
            reply = await self._exchange(login)
            assert isinstance(reply, LoginResponse)
            if not reply.ok:
                raise Sip2LoginRefused(f"SIP2 login refused for user {s.user!r} at {where}")
            status = await self._exchange(ScStatus())
            assert isinstance(status, AcsStatus)
            self.acs_status = status
        except CirculationNoReply as exc:
            await self._drop()
            raise Sip2LoginRefused(f"SIP2 login at {where} got no valid reply: {exc}") from exc
        except BaseException:
            await self._drop()
            raise
        self.logins += 1
        self._touch()
        if s.keepalive_interval and (self._keepalive is None or self._keepalive.done()) and not self._closed:
            self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive(s.keepalive_interval))

    async def _drop(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        self._conversation.reset()
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    async def _keep_alive(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            wait = self._last_activity + interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self._lock.locked():  # a request is running: that is traffic enough
                self._touch()
                continue
            try:
                async with self._lock:
                    if not self.healthy:
                        await self._drop()
                        await self._connect()  # transparent reconnect and re-login
                    else:
                        try:
                            reply = await self._exchange(ScStatus())
                        except BaseException:
                            await self._drop()
                            raise
                        if isinstance(reply, AcsStatus):
                            self.acs_status = reply
                log.debug("SIP2 keep-alive to %s:%s ok", self.settings.host, self.settings.port)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next keep-alive or request reconnects
                log.info("SIP2 keep-alive to %s:%s failed: %s", self.settings.host, self.settings.port, exc)
            self._touch()

    async def _send(self, data: bytes) -> None:
        assert self._writer is not None
        if self.settings.transcript:
            transcript_log.debug("SC -> ACS %s", _redact(data, charset=self.settings.charset))
        try:
            self._writer.write(data)
            if self._writer.transport.get_write_buffer_size():  # only then can drain() block
                async with asyncio.timeout(self.reply_timeout):
                    await self._writer.drain()
        except TimeoutError as exc:
            raise Sip2Timeout(f"sending to the SIP2 server stalled for {self.reply_timeout}s") from exc
        except OSError as exc:
            # Part of the request may have reached the ACS: we cannot say it did not happen.
            raise Sip2ConnectionLost(f"sending to the SIP2 server failed: {exc}") from exc
        self._touch()

    async def _receive(self, deadline: float) -> None:
        """Feed the conversation whatever arrives before `deadline`."""
        assert self._reader is not None
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise self._timeout_error(self.reply_timeout)
        try:
            async with asyncio.timeout(remaining):  # no extra task per read, unlike wait_for
                chunk = await self._reader.read(65536)
        except TimeoutError:
            raise self._timeout_error(self.reply_timeout) from None
        except OSError as exc:
            raise Sip2ConnectionLost(f"connection to the SIP2 server broke: {exc}") from exc
        if not chunk:
            raise self._conversation.peer_closed()
        self._conversation.receive_data(chunk)
        self._touch()

    def _timeout_error(self, timeout: float) -> Sip2Timeout:
        if self._conversation.pending:
            return Sip2Timeout(
                f"SIP2 reply incomplete after {timeout}s ({self._conversation.pending} bytes, no terminator)"
            )
        return Sip2Timeout(f"no reply from the SIP2 server within {timeout}s")

    async def _exchange(self, message: Message) -> Message:
        return (await self._converse(message)).message

    async def _converse(self, message: Message) -> Reply:
        conversation = self._conversation
        conversation.resend_limit = self.resend_limit
        await self._send(conversation.send(message))  # an unencodable request raises before sending
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        while True:
            event = conversation.next_event()
            if isinstance(event, Reply):
                if self.settings.transcript:
                    transcript_log.debug("ACS -> SC %s", _redact(event.raw, charset=self.settings.charset))
                if event.repaired:
                    log.info(
                        "SIP2 reply %s: field(s) %s were not valid %s; read with %s",
                        event.message.CODE,
                        ", ".join(event.repaired),
                        self.settings.charset,
                        self.settings.fallback_charset or "replacement marks",
                    )
                return event
            if isinstance(event, SendAgain):
                log.info("SIP2 %s: %s", message.CODE, event.why)
                await self._send(event.data)
                deadline = loop.time() + self.reply_timeout
                continue
            await self._receive(deadline)


async def open_client(settings: Sip2Settings) -> Sip2Client:
    client = Sip2Client(settings)
    await client.connect()
    return client


__all__ = ["CHARSETS", "MAX_RESEND_ROUNDS", "Sip2Client", "Sip2ConfigError", "Sip2Settings", "open_client"]
