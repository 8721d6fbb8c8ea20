"""One SIP2 conversation as a sans-IO state machine, for both sides, in the style of h11.

No sockets, no clocks, no logging. The client (`client.Sip2Client`, the SC) and the demo library system's
server (`demo_ils.server`, the ACS) put a transport around it; every rule about sequence numbers, 96/97
resends and which reply answers which request lives here, once.

SC side (`ScConversation`)::

    IDLE --send(request)--> AWAITING_REPLY --next_event() is Reply--> IDLE
    AWAITING_REPLY --next_event() is SendAgain (97, or the request again)--> AWAITING_REPLY
    any state --an error raised--> CLOSED   (close the transport; `reset()` for a new connection)

- Sequence numbers run 0..9 per connection; a reply must carry the request's number when it carries one.
- A reply with a wrong or **missing** checksum (error detection on) is answered with 97. Servers answer a
  97 with sequence number 0 (Koha's resend rebuilds the frame and numbers it 0): after a 97 a reply with
  another number is accepted when it is the reply we asked for (right message type, valid checksum, and it
  names the request's item or patron); only when it cannot be told apart from a stale reply is it an error.
- A 96 makes us send the same bytes again. A second 96 for a request with non-ASCII bytes means the server
  cannot read our charset: `Sip2CharsetMismatch`, not a third identical resend.
- Every reply must be about the request's item and patron (when both name one): with error detection off
  nothing else tells a duplicated reply from the answer.
- Both kinds of resend are bounded by `resend_limit` (the 98's retries allowed, at most 3).

ACS side (`AcsConversation`)::

    IDLE --next_event() is Request--> HANDLING --respond(reply)--> IDLE
    IDLE --next_event() is Answer (96 to a damaged request, the last reply again on 97)--> IDLE
    IDLE --next_event() is BadFrame--> CLOSED

Vectors (the checksum example of ../shared/REFERENCE.md)::

    >>> from server_api.sip2.messages import ScStatus
    >>> sc = ScConversation()
    >>> sc.send(ScStatus(max_print_width=0, protocol_version="2.00"))[:15]
    b'9900002.00AY0AZ'
    >>> sc.receive_data(b"96AZFEF6\\r"); sc.next_event().why
    'the server asked for a resend (96)'
"""

from __future__ import annotations

import dataclasses
import enum
from collections import deque
from dataclasses import dataclass
from typing import Final

from server_api.circulation import CirculationError

from .codec import (
    Framer,
    Sip2CharsetError,
    Sip2ChecksumError,
    Sip2DecodeError,
    Sip2EncodeError,
    decode_frame,
    encode,
    has_trailer,
)
from .errors import (
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
from .messages import (
    RESPONSE_FOR,
    SUPPORTED_MESSAGE_NAMES,
    Message,
    PatronInformationRequest,
    PatronStatusRequest,
    RequestAcsResend,
    RequestScResend,
    layout,
)

MAX_RESEND_ROUNDS: Final = 3  # 97/96 exchanges per request, at most (the 98 may allow fewer)
_NAMES = {name[-3:-1]: name for name in SUPPORTED_MESSAGE_NAMES}
IDENTITY_FIELDS: Final = (("item_identifier", "item"), ("patron_identifier", "patron"))


class State(enum.Enum):
    IDLE = "idle"
    AWAITING_REPLY = "awaiting reply"  # SC: a request is out
    HANDLING = "handling"  # ACS: a request was handed out, `respond()` is due
    CLOSED = "closed"  # an error ended the conversation: close the transport


class ConversationError(RuntimeError):
    """An illegal transition (a programming error in the transport around the state machine)."""


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True)
class Reply:
    """SC: the answer to the request."""

    message: Message
    raw: bytes  # the frame as it came (for staff logs: redact before writing it anywhere)
    seq: int | None
    repaired: tuple[str, ...] = ()  # text fields read with the fallback charset or replacement marks
    after_resend: bool = False  # it came after our 97


@dataclass(frozen=True)
class SendAgain:
    """SC: send these bytes now (a 97, or the request again after a 96) and keep waiting."""

    data: bytes
    why: str


@dataclass(frozen=True)
class Request:
    """ACS: a request to act on; answer it with `AcsConversation.respond`."""

    message: Message
    seq: int | None
    error_detection: bool  # the SC used AY/AZ: answer in kind


@dataclass(frozen=True)
class Answer:
    """ACS: send these bytes (96 to a damaged request, the last reply again on 97)."""

    data: bytes
    why: str


@dataclass(frozen=True)
class BadFrame:
    """ACS: a frame that is not SIP2 at all; hang up."""

    reason: str


def request_name(message: Message) -> str:
    return _NAMES.get(message.CODE, message.CODE)


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


def _fit(message: Message, charset: str) -> Message:
    """The message with letters its charset lacks replaced by '?', as servers write them."""

    def fit(text: str) -> str:
        return text.encode(charset, errors="replace").decode(charset)

    changes: dict[str, object] = {}
    for spec in layout(type(message))[1]:
        value = getattr(message, spec.name)
        if isinstance(value, str):
            changes[spec.name] = fit(value)
        elif isinstance(value, tuple):
            changes[spec.name] = tuple(fit(v) for v in value)
    changes["extra"] = tuple((code, fit(value)) for code, value in message.extra)
    return dataclasses.replace(message, **changes)  # type: ignore[arg-type]


class AcsConversation:
    """The ACS's side of one connection (the demo library system's server)."""

    def __init__(
        self, *, charset: str = "utf-8", max_frame: int = 64 * 1024, resend_sequence_zero: bool = False
    ) -> None:
        self.charset = charset
        self.resend_sequence_zero = resend_sequence_zero  # answer 97 numbered 0, as Koha does
        self.state = State.IDLE
        self._framer = Framer(max_frame)
        self._frames: deque[bytes] = deque()
        self._pending: Request | None = None
        self._last: tuple[Message, int | None, bool] | None = None  # reply, its seq, error detection

    def receive_data(self, data: bytes) -> None:
        """Raises `Sip2FrameTooLarge` (a `Sip2DecodeError`) for a peer that never ends its frames."""
        if self.state is State.CLOSED:
            raise ConversationError("the conversation is closed")
        try:
            self._frames.extend(self._framer.feed(data))
        except Sip2DecodeError:
            self.state = State.CLOSED
            raise

    def next_event(self) -> Request | Answer | BadFrame | _NeedData:
        if self.state is not State.IDLE:
            raise ConversationError(f"next_event() while {self.state.value}: respond() first")
        if not self._frames:
            return NEED_DATA
        frame = self._frames.popleft()
        try:
            decoded = decode_frame(frame, charset=self.charset)
        except (Sip2ChecksumError, Sip2CharsetError) as exc:
            # Not remembered: a 97 must repeat a real answer.
            return Answer(self._resend_request(), f"asking for a resend (96): {exc}")
        except Sip2DecodeError as exc:
            self.state = State.CLOSED
            return BadFrame(str(exc))
        if isinstance(decoded.message, RequestAcsResend):
            return Answer(self._last_again(), "resending the last reply (97)")
        self._pending = Request(decoded.message, decoded.seq, decoded.checksum is not None)
        self.state = State.HANDLING
        return self._pending

    def respond(self, reply: Message) -> bytes:
        if self.state is not State.HANDLING or self._pending is None:
            raise ConversationError(f"respond() while {self.state.value}: no request to answer")
        request, self._pending = self._pending, None
        self.state = State.IDLE
        reply = _fit(reply, self.charset)
        self._last = (reply, request.seq, request.error_detection)
        return encode(reply, seq=request.seq, charset=self.charset, error_detection=request.error_detection)

    def close(self) -> None:
        self.state = State.CLOSED

    def _resend_request(self) -> bytes:
        return encode(RequestScResend(), seq=None, charset=self.charset)

    def _last_again(self) -> bytes:
        if self._last is None:
            return self._resend_request()
        reply, seq, error_detection = self._last
        if self.resend_sequence_zero and error_detection:
            seq = 0
        return encode(reply, seq=seq, charset=self.charset, error_detection=error_detection)


__all__ = [
    "MAX_RESEND_ROUNDS",
    "NEED_DATA",
    "AcsConversation",
    "Answer",
    "BadFrame",
    "ConversationError",
    "Reply",
    "Request",
    "ScConversation",
    "SendAgain",
    "State",
    "request_name",
]
