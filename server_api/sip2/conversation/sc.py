"""The SC's side of a SIP2 conversation (the kiosk's client): see the package docstring for the rules."""

from __future__ import annotations

from collections import deque
from typing import Final

from server_api.circulation import CirculationError

from ..codec import (
    Framer,
    Sip2ChecksumError,
    Sip2DecodeError,
    Sip2EncodeError,
    decode_frame,
    encode,
    has_trailer,
)
from ..errors import (
    Sip2CharsetMismatch,
    Sip2ChecksumFailed,
    Sip2ConnectionLost,
    Sip2GarbledReply,
    Sip2MismatchedReply,
    Sip2ReplyTooLarge,
    Sip2RequestNotEncodable,
    Sip2RequestRejected,
    Sip2ResendLimit,
    Sip2SequenceMismatch,
    Sip2UnexpectedReply,
)
from ..messages import (
    RESPONSE_FOR,
    Message,
    PatronInformationRequest,
    PatronStatusRequest,
    RequestAcsResend,
    RequestScResend,
    layout,
)
from .events import (
    MAX_RESEND_ROUNDS,
    NEED_DATA,
    ConversationError,
    Reply,
    SendAgain,
    State,
    _NeedData,
    request_name,
)

IDENTITY_FIELDS: Final = (("item_identifier", "item"), ("patron_identifier", "patron"))


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


class ScConversation:
    """The SC's side of one connection."""

    def __init__(
        self,
        *,
        charset: str = "utf-8",
        fallback_charset: str = "",
        error_detection: bool = True,
        strict: bool = False,
        terminator: str = "\r",
        max_frame: int = 64 * 1024,
        patron_echoed_in_info: bool = True,
    ) -> None:
        self.charset, self.fallback_charset = charset, fallback_charset
        self.error_detection, self.strict, self.terminator = error_detection, strict, terminator
        self.max_frame = max_frame
        self.patron_echoed_in_info = patron_echoed_in_info  # False: 64/24 may give the card for a user id
        self.resend_limit = MAX_RESEND_ROUNDS
        self.reset()

    def reset(self) -> None:
        """A new connection: sequence numbers start again, nothing buffered."""
        self.state = State.IDLE
        self._framer = Framer(self.max_frame)
        self._frames: deque[bytes] = deque()
        self._seq = -1
        self._request: Message | None = None
        self._request_bytes = b""
        self._bad_frames = self._resends = 0
        self._asked_again = False
        self._heard = False  # anything came back for the request

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame."""
        return self._framer.pending

    def send(self, message: Message) -> bytes:
        """The bytes of the next request. An unencodable request raises and leaves the state as it was."""
        if self.state is not State.IDLE:
            raise ConversationError(f"cannot send {message.CODE} while {self.state.value}")
        seq = (self._seq + 1) % 10
        data = self._encode(message, seq)
        self._seq = seq
        self._request, self._request_bytes = message, data
        self._bad_frames = self._resends = 0
        self._asked_again = self._heard = False
        self.state = State.AWAITING_REPLY
        return data

    def receive_data(self, data: bytes) -> None:
        if self.state is State.CLOSED:
            raise ConversationError("the conversation is closed")
        try:
            self._frames.extend(self._framer.feed(data))
        except Sip2DecodeError as exc:
            self.state = State.CLOSED
            raise Sip2ReplyTooLarge(f"SIP2 reply too large: {exc}") from exc

    def next_event(self) -> Reply | SendAgain | _NeedData:
        """The next thing to do. Frames that arrive while idle wait for the next request (and are then
        judged as its reply: a duplicated reply fails the matching instead of answering it)."""
        if self.state is State.CLOSED:
            raise ConversationError("the conversation is closed")
        if self.state is not State.AWAITING_REPLY or not self._frames:
            return NEED_DATA
        frame = self._frames.popleft()
        self._heard = True
        try:
            return self._judge(frame)
        except CirculationError:
            self.state = State.CLOSED
            raise

    def peer_closed(self) -> Sip2ConnectionLost:
        """The error for a server that closed the connection; the conversation is over."""
        awaiting, heard, pending = self.state is State.AWAITING_REPLY, self._heard, self.pending
        self.state = State.CLOSED
        if pending:
            return Sip2ConnectionLost(
                f"the SIP2 server closed the connection in the middle of a reply"
                f" ({pending} bytes received, no terminator)"
            )
        if awaiting and not heard and self._request is not None:
            return Sip2RequestRejected(
                f"the SIP2 server closed the connection right after our {request_name(self._request)}"
                f" request, without replying: it probably rejected the request{self._suspects()}"
            )
        return Sip2ConnectionLost("the SIP2 server closed the connection without replying")

    # -- internals -------------------------------------------------------------------------------------

    def _encode(self, message: Message, seq: int | None, error_detection: bool | None = None) -> bytes:
        ed = self.error_detection if error_detection is None else error_detection
        try:
            data = encode(message, seq=seq, charset=self.charset, error_detection=ed)
        except Sip2EncodeError as exc:
            raise Sip2RequestNotEncodable(f"SIP2 request cannot be sent ({self.charset}): {exc}") from exc
        if self.terminator != "\r":
            data = data[:-1] + self.terminator.encode("ascii")
        return data

    def _judge(self, frame: bytes) -> Reply | SendAgain:
        assert self._request is not None
        if self.error_detection and not has_trailer(frame):
            return self._ask_again("missing")
        try:
            decoded = decode_frame(
                frame, charset=self.charset, strict=self.strict, fallback=self.fallback_charset
            )
        except Sip2ChecksumError:
            return self._ask_again("wrong")
        except Sip2DecodeError as exc:
            raise Sip2GarbledReply(f"cannot decode SIP2 reply to {self._request.CODE}: {exc}") from exc
        reply = decoded.message
        if isinstance(reply, RequestScResend):
            return self._resend_request()
        expected = RESPONSE_FOR.get(type(self._request))
        if expected is not None and not isinstance(reply, expected):
            raise Sip2UnexpectedReply(
                f"expected a {expected.CODE} reply to {self._request.CODE}, got {reply.CODE}"
            )
        self._check_content(reply)
        after_resend = self._check_sequence(decoded.seq, reply)
        self.state = State.IDLE
        return Reply(reply, frame, decoded.seq, decoded.repaired, after_resend)

    def _ask_again(self, what: str) -> SendAgain:
        assert self._request is not None
        self._bad_frames += 1
        if self._bad_frames > self.resend_limit:
            raise Sip2ChecksumFailed(
                f"SIP2 reply to {self._request.CODE}: checksum still {what} after"
                f" {self.resend_limit} resend request(s)"
            )
        self._asked_again = True
        return SendAgain(
            self._encode(RequestAcsResend(), None, True), f"checksum {what}: asking for a resend (97)"
        )

    def _resend_request(self) -> SendAgain:
        assert self._request is not None
        self._resends += 1
        if self._resends >= 2 and not self._request_bytes.isascii():
            raise Sip2CharsetMismatch(
                f"character set mismatch: the SIP2 server cannot read our {request_name(self._request)}"
                f" request (it asked for it again twice); the request holds letters outside ASCII in"
                f" {', '.join(self._non_ascii_fields())}, sent as {self.charset}. Set the connection's"
                f" charset to the one the server's login uses (run `kiosk sip2 probe --test-patron`),"
                f" or set the login's encoding on the server to {self.charset}"
            )
        if self._resends > self.resend_limit:
            raise Sip2ResendLimit(
                f"SIP2 server asked for {self._request.CODE} to be resent more than"
                f" {self.resend_limit} time(s)"
            )
        return SendAgain(self._request_bytes, "the server asked for a resend (96)")

    def _identities(self, reply: Message) -> list[tuple[str, str, str]]:
        """(what, sent, got) for each identity both the request and the reply name."""
        assert self._request is not None
        found = []
        for name, what in IDENTITY_FIELDS:
            info = isinstance(self._request, PatronInformationRequest | PatronStatusRequest)
            if what == "patron" and info and not self.patron_echoed_in_info:
                continue
            sent, got = getattr(self._request, name, None), getattr(reply, name, None)
            if isinstance(sent, str) and isinstance(got, str) and sent.strip() and got.strip():
                found.append((what, sent, got))
        return found

    def _check_content(self, reply: Message) -> None:
        assert self._request is not None
        for what, sent, got in self._identities(reply):
            if not _same(sent, got):
                shown = f" {got!r}, not {sent!r}" if what == "item" else ""  # card numbers stay out of logs
                raise Sip2MismatchedReply(
                    f"SIP2 reply to {self._request.CODE} is about another {what}{shown}: a duplicated or"
                    " crossed reply; the outcome is unknown"
                )

    def _check_sequence(self, seq: int | None, reply: Message) -> bool:
        """True if the reply was accepted on its content after a 97 (its number did not match)."""
        assert self._request is not None
        if not self.error_detection or seq is None or seq == self._seq:
            return False
        if self._asked_again:
            has_identity = any(getattr(self._request, name, None) for name, _ in IDENTITY_FIELDS)
            if not has_identity or self._identities(reply):
                return True  # the resent reply: right type, valid checksum, names what we asked about
            raise Sip2SequenceMismatch(
                f"SIP2 reply to {self._request.CODE} after a resend request has sequence number {seq},"
                f" expected {self._seq}, and names no item or patron to confirm it: in doubt"
            )
        raise Sip2SequenceMismatch(
            f"SIP2 reply to {self._request.CODE} has sequence number {seq}, expected {self._seq}"
        )

    def _non_ascii_fields(self) -> list[str]:
        assert self._request is not None
        fields = [
            spec.code
            for spec in layout(type(self._request))[1]
            if any(not str(v).isascii() for v in _values(getattr(self._request, spec.name)))
        ]
        fields += [code for code, value in self._request.extra if not value.isascii()]
        return fields or ["its text"]

    def _suspects(self) -> str:
        """What in the request a strict server may have refused, in words."""
        assert self._request is not None
        blank = [
            spec.name.replace("_", " ")
            for spec in layout(type(self._request))[0]
            if spec.kind == "date" and getattr(self._request, spec.name) is None
        ]
        notes = []
        if blank:
            notes.append(f"it carried blank (18 spaces) {', '.join(blank)}")
            if "nb due date" in blank:
                notes.append(
                    "servers that parse nb due date strictly want a date: use nb_due_date = transaction"
                )
        if not self._request_bytes.isascii():
            notes.append(
                f"it held letters outside ASCII in {', '.join(self._non_ascii_fields())} ({self.charset})"
            )
        return (": " + "; ".join(notes)) if notes else ""


def _values(value: object) -> tuple[object, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


__all__ = ["IDENTITY_FIELDS", "ScConversation"]
