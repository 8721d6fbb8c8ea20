"""The ACS's side of a SIP2 conversation (the demo library system's server): see the package docstring."""

from __future__ import annotations

import dataclasses
from collections import deque

from ..codec import Framer, Sip2CharsetError, Sip2ChecksumError, Sip2DecodeError, decode_frame, encode
from ..messages import Message, RequestAcsResend, RequestScResend, layout
from .events import NEED_DATA, Answer, BadFrame, ConversationError, Request, State, _NeedData


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


__all__ = ["AcsConversation"]
