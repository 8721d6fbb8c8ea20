"""SIP2 2.00: our own sans-IO codec (`codec`, `messages`), an asyncio connection (`client`) and the
`Circulation` protocol over it (`circulation`). Used by the kiosk and by the demo library system."""

from .circulation import Sip2Circulation
from .client import Sip2Client, Sip2ConfigError, Sip2Settings
from .codec import (
    Framer,
    Sip2ChecksumError,
    Sip2DecodeError,
    Sip2EncodeError,
    Sip2Error,
    Sip2FrameTooLarge,
    checksum,
    decode,
    decode_frame,
    encode,
)
from .conversation import AcsConversation, ConversationError, ScConversation
from .errors import (
    Sip2BadReply,
    Sip2CharsetMismatch,
    Sip2ConnectFailed,
    Sip2ConnectionLost,
    Sip2LoginRefused,
    Sip2MismatchedReply,
    Sip2RequestNotEncodable,
    Sip2RequestRejected,
    Sip2Timeout,
    Sip2TlsError,
)
from .pool import AccountKey, PoolReport, Sip2Pool, Sip2Pools
from .profiles import PROFILES, VendorProfile, get_profile

__all__ = [
    "PROFILES",
    "AccountKey",
    "AcsConversation",
    "ConversationError",
    "Framer",
    "PoolReport",
    "ScConversation",
    "Sip2BadReply",
    "Sip2CharsetMismatch",
    "Sip2ChecksumError",
    "Sip2Circulation",
    "Sip2Client",
    "Sip2ConfigError",
    "Sip2ConnectFailed",
    "Sip2ConnectionLost",
    "Sip2DecodeError",
    "Sip2EncodeError",
    "Sip2Error",
    "Sip2FrameTooLarge",
    "Sip2LoginRefused",
    "Sip2MismatchedReply",
    "Sip2Pool",
    "Sip2Pools",
    "Sip2RequestNotEncodable",
    "Sip2RequestRejected",
    "Sip2Settings",
    "Sip2Timeout",
    "Sip2TlsError",
    "VendorProfile",
    "checksum",
    "decode",
    "decode_frame",
    "encode",
    "get_profile",
]
