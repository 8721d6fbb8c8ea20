"""The staff credential: what staff prove to open the staff screen, kept only as an argon2id hash.

Two kinds (`[staff] kind`): a passphrase (at least `PASSPHRASE_MIN_LENGTH` characters), or a staff card
together with a PIN of at least `STAFF_PIN_MIN_DIGITS` digits. A lone short PIN would not do: its hash on a
lost SD card is cracked offline in minutes, whatever the hash. With a card the secret is the card's number
and the PIN together, so the card alone (found, or copied) opens nothing either.

The hash is argon2-cffi's (argon2id, its RFC 9106 low-memory defaults or stronger). `kiosk.config` refuses
a hash that is not argon2id or is weaker than `MIN_MEMORY_KIB` / `MIN_TIME_COST`. Verifying costs ~50 ms
of CPU: the station does it in a thread.
"""

from __future__ import annotations

import enum

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PASSPHRASE_MIN_LENGTH = 12
STAFF_PIN_MIN_DIGITS = 6
STAFF_CARD_MIN_LENGTH = 6
MIN_MEMORY_KIB = 19 * 1024  # OWASP's argon2id minimum
MIN_TIME_COST = 2

_HASHER = PasswordHasher()


class CredentialKind(enum.StrEnum):
    PASSPHRASE = "passphrase"
    CARD_PIN = "card_pin"


def secret_of(kind: CredentialKind, *, passphrase: str = "", card: str = "", pin: str = "") -> str:
    """What is hashed: the passphrase, or card number and PIN together (a NUL cannot be typed)."""
    if kind is CredentialKind.PASSPHRASE:
        return passphrase
    return f"{card.strip()}\x00{pin}"


def weakness(kind: CredentialKind, *, passphrase: str = "", card: str = "", pin: str = "") -> str | None:
    """Why this credential may not be set, in words for the technician; None when it may."""
    if kind is CredentialKind.PASSPHRASE:
        if len(passphrase.strip()) < PASSPHRASE_MIN_LENGTH:
            return f"a passphrase needs at least {PASSPHRASE_MIN_LENGTH} characters (a few words are best)"
        return None
    if len(card.strip()) < STAFF_CARD_MIN_LENGTH:
        return f"the staff card's number needs at least {STAFF_CARD_MIN_LENGTH} characters"
    if not (pin.isascii() and pin.isdigit()) or len(pin) < STAFF_PIN_MIN_DIGITS:
        return f"the staff PIN needs at least {STAFF_PIN_MIN_DIGITS} digits"
    return None


def hash_credential(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_credential(stored: str, secret: str) -> bool:
    """True when `secret` matches the stored hash. Never raises for a wrong secret or a broken hash."""
    try:
        return _HASHER.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_problem(stored: str) -> str | None:
    """Why `stored` is not a hash the station accepts, or None."""
    try:
        parameters = extract_parameters(stored)
    except InvalidHashError:
        return "not an argon2 hash: set it with `kiosk staff set-credential`"
    if parameters.type.name != "ID":
        return "not argon2id: set it again with `kiosk staff set-credential`"
    if parameters.memory_cost < MIN_MEMORY_KIB or parameters.time_cost < MIN_TIME_COST:
        return (
            f"too weak (memory {parameters.memory_cost} KiB, time cost {parameters.time_cost}; at least "
            f"{MIN_MEMORY_KIB} KiB and {MIN_TIME_COST}): set it again with `kiosk staff set-credential`"
        )
    return None


__all__ = [
    "PASSPHRASE_MIN_LENGTH",
    "STAFF_PIN_MIN_DIGITS",
    "CredentialKind",
    "hash_credential",
    "hash_problem",
    "secret_of",
    "verify_credential",
    "weakness",
]
