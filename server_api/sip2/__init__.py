"""SIP2 2.00: our own sans-IO codec (`codec`, `messages`), an asyncio connection (`client`) and the
`Circulation` protocol over it (`circulation`). Used by the kiosk and by the demo library system."""

from .circulation import Sip2Circulation
from .client import Sip2Client, Sip2Settings
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

__all__ = [
    "Framer",
    "Sip2ChecksumError",
    "Sip2Circulation",
    "Sip2Client",
    "Sip2DecodeError",
    "Sip2EncodeError",
    "Sip2Error",
    "Sip2FrameTooLarge",
    "Sip2Settings",
    "checksum",
    "decode",
    "decode_frame",
    "encode",
]
