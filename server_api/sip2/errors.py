"""Typed errors of a SIP2 connection, each a `server_api.circulation` exception the kiosk already handles.

What the caller can conclude from the class:

- `Sip2ConnectFailed`, `Sip2LoginRefused`, `Sip2TlsError` (all `CirculationUnavailable`): nothing was sent
  for the request; safe to try again later or go offline.
- `Sip2RequestNotEncodable` (`CirculationProtocolError`): the request itself cannot be written (a character
  the connection's charset cannot carry, a '|' in a value). Nothing was sent; retrying will not help.
- `Sip2Timeout`, `Sip2ConnectionLost` (`CirculationNoReply`): the request went out (or may have), no reply
  came. The action may or may not have happened: reconcile.
  `Sip2RequestRejected` (a `Sip2ConnectionLost`): the ACS hung up right after the request without a word;
  it most likely refused to read it (the message names what in the request a strict server rejects).
- `Sip2BadReply` and its kinds (both `CirculationNoReply` *and* `CirculationProtocolError`): the request
  went out and what came back is not a valid answer to it (garbled, checksum wrong or missing after 97,
  wrong sequence number, wrong message type, a reply about another item or patron, oversized). The action
  may have happened: reconcile.
- `Sip2CharsetMismatch` (`CirculationProtocolError`): the ACS kept asking for a resend (96) of a request
  with letters outside ASCII: it cannot read our character set. It did not act on the request; retrying
  will not help until the connection's charset matches the server's (the message says what to set).

After any of the last two groups the connection is closed; the next request reconnects and logs in.
"""

from __future__ import annotations

from server_api.circulation import CirculationNoReply, CirculationProtocolError, CirculationUnavailable


class Sip2ConnectFailed(CirculationUnavailable):
    """TCP connect failed or timed out."""


class Sip2TlsError(Sip2ConnectFailed):
    """The TLS handshake failed (unknown CA, wrong host name, client certificate refused)."""


class Sip2LoginRefused(CirculationUnavailable):
    """94 with ok=0, or no usable answer to the login."""


class Sip2RequestNotEncodable(CirculationProtocolError):
    """The request cannot be encoded (charset, forbidden character, bad width). Nothing was sent."""


class Sip2Timeout(CirculationNoReply):
    """No complete reply within the timeout."""


class Sip2ConnectionLost(CirculationNoReply):
    """The ACS closed the connection (or it broke) before a complete reply arrived."""


class Sip2RequestRejected(Sip2ConnectionLost):
    """The ACS closed the connection right after a request, without replying: it likely rejected it."""


class Sip2CharsetMismatch(CirculationProtocolError):
    """The ACS answered 96 to a request with non-ASCII text again after a resend: it cannot decode our
    charset. Not carried out; set the connection's charset to the server's."""


class Sip2BadReply(CirculationNoReply, CirculationProtocolError):
    """A reply arrived but is not a valid answer. The request was sent: it may have been carried out."""


class Sip2GarbledReply(Sip2BadReply):
    """The reply does not decode (unknown command, truncated fixed fields, bad bytes)."""


class Sip2ChecksumFailed(Sip2BadReply):
    """The reply's checksum stayed wrong after the allowed 97 resend requests."""


class Sip2ResendLimit(Sip2BadReply):
    """The ACS kept answering 96 (resend) beyond the allowed retries."""


class Sip2SequenceMismatch(Sip2BadReply):
    """The reply carries another sequence number than the request (a stale or crossed reply)."""


class Sip2UnexpectedReply(Sip2BadReply):
    """The reply is a valid message of the wrong type for the request."""


class Sip2MismatchedReply(Sip2BadReply):
    """The reply names another item or patron than the request (a duplicated or crossed reply)."""


class Sip2ReplyTooLarge(Sip2BadReply):
    """More bytes than `max_message_size` arrived without a frame terminator."""


__all__ = [
    "Sip2BadReply",
    "Sip2CharsetMismatch",
    "Sip2ChecksumFailed",
    "Sip2ConnectFailed",
    "Sip2ConnectionLost",
    "Sip2GarbledReply",
    "Sip2LoginRefused",
    "Sip2MismatchedReply",
    "Sip2ReplyTooLarge",
    "Sip2RequestNotEncodable",
    "Sip2RequestRejected",
    "Sip2ResendLimit",
    "Sip2SequenceMismatch",
    "Sip2Timeout",
    "Sip2TlsError",
    "Sip2UnexpectedReply",
]
