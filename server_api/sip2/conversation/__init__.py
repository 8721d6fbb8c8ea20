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

from .acs import AcsConversation
from .events import (
    MAX_RESEND_ROUNDS,
    NEED_DATA,
    Answer,
    BadFrame,
    ConversationError,
    Reply,
    Request,
    SendAgain,
    State,
    request_name,
)
from .sc import ScConversation

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
