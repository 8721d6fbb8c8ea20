"""What kiosks need when they cannot reach the gateway, and the card-side protections.

Rules:
- Card numbers are never stored or sent as a list. Each library gets its own key, derived from the
  consortium's key (HMAC-SHA256(consortium key, "kiosk-offline-cards:" + library)); its lists hold the
  first `HEX_DIGITS` hex digits of HMAC-SHA256(library key, card). A kiosk gets its own library's key
  with the lists, so it can test a card it is shown, and a stolen kiosk reveals one library's key, not
  the consortium's. (Card numbers are short; whoever holds a key can test guesses. That is the price of
  checking cards offline at all, and the reason the lists never leave a library.)
- The lists are learnt from the patron lookups the gateway answers: a card the library system knows
  becomes "known", one it blocks becomes "blocked" (in every library's list: one card is valid
  everywhere). A card not seen for `card_retention_days` drops out.
- Wrong PINs are counted per card across every kiosk of the consortium (keyed by an HMAC under the
  consortium key), in the database, so every gateway process sees the same count. After `pin_failures`
  wrong PINs within `pin_window_minutes` the card cools down for `pin_cooldown_minutes`: lookups with a
  PIN are answered "wrong PIN, wait" without asking the library system.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .config import GatewayConfig
from .devices import utcnow
from .schema import cards, pin_failures
from .wire import CardHashing, CardRulesData, OfflineData, OfflinePolicyData

HEX_DIGITS = 32  # 128 bits of each HMAC in the lists
REFRESH_SECONDS = 900


def normalise_card(card: str) -> str:
    return card.replace(" ", "").upper()


def library_key(consortium_key: bytes, library: str) -> bytes:
    return hmac.new(consortium_key, b"kiosk-offline-cards:" + library.encode(), hashlib.sha256).digest()


def card_digest(key: bytes, card: str) -> str:
    return hmac.new(key, normalise_card(card).encode(), hashlib.sha256).hexdigest()[:HEX_DIGITS]


class CardBook:
    """Offline lists and PIN cool-downs, over the gateway's database."""

    def __init__(self, engine: Engine, config: GatewayConfig, consortium_key: bytes) -> None:
        self.engine = engine
        self.config = config
        self._pin_key = hmac.new(consortium_key, b"kiosk-pin-failures", hashlib.sha256).digest()
        self._keys = {number: library_key(consortium_key, number) for number in config.libraries()}

    # -- cards seen -------------------------------------------------------------------------------------

    def saw(self, card: str, *, blocked: bool) -> None:
        """Record a card the library system answered for, in every library's list."""
        now = utcnow()
        rows = [
            {"library": number, "card_hmac": card_digest(key, card), "blocked": blocked, "seen_at": now}
            for number, key in self._keys.items()
        ]
        statement = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(cards)
        statement = statement.on_conflict_do_update(
            index_elements=["library", "card_hmac"],
            set_={"blocked": statement.excluded.blocked, "seen_at": statement.excluded.seen_at},
        )
        with self.engine.begin() as db:
            db.execute(statement, rows)

    def forget(self, card: str) -> None:
        with self.engine.begin() as db:
            for number, key in self._keys.items():
                db.execute(
                    delete(cards).where(
                        cards.c.library == number, cards.c.card_hmac == card_digest(key, card)
                    )
                )

    def expire(self) -> int:
        cutoff = utcnow() - timedelta(days=self.config.gateway.card_retention_days)
        with self.engine.begin() as db:
            return int(db.execute(delete(cards).where(cards.c.seen_at < cutoff)).rowcount)

    def offline_data(self, library: str) -> OfflineData:
        lib = self.config.libraries()[library]
        with self.engine.connect() as db:
            rows = db.execute(
                select(cards.c.card_hmac, cards.c.blocked).where(cards.c.library == library)
            ).all()
        return OfflineData(
            library=library,
            library_name=lib.name,
            generated_at=utcnow(),
            refresh_seconds=REFRESH_SECONDS,
            policy=OfflinePolicyData(**lib.offline.model_dump()),
            card_rules=CardRulesData(
                patterns=list(lib.cards.patterns),
                min_length=lib.cards.min_length,
                max_length=lib.cards.max_length,
            ),
            hashing=CardHashing(key=base64.b64encode(self._keys[library]).decode(), hex_digits=HEX_DIGITS),
            blocked=sorted(r.card_hmac for r in rows if r.blocked),
            known=sorted(r.card_hmac for r in rows if not r.blocked),
        )

    # -- PIN failures -----------------------------------------------------------------------------------

    def _pin_id(self, card: str) -> str:
        return hmac.new(self._pin_key, normalise_card(card).encode(), hashlib.sha256).hexdigest()

    def cooldown(self, card: str, now: datetime | None = None) -> int:
        """Seconds this card must still wait before a PIN is checked again (0: go ahead)."""
        now = now or utcnow()
        with self.engine.connect() as db:
            row = db.execute(
                select(pin_failures).where(pin_failures.c.card_hmac == self._pin_id(card))
            ).first()
        if row is None or row.locked_until is None or row.locked_until <= now:
            return 0
        return max(1, int((row.locked_until - now).total_seconds()))

    def pin_result(self, card: str, ok: bool) -> int:
        """Count a wrong PIN (or clear the count after a right one); returns the cool-down it started."""
        limits, key, now = self.config.limits, self._pin_id(card), utcnow()
        with self.engine.begin() as db:
            if ok:
                db.execute(delete(pin_failures).where(pin_failures.c.card_hmac == key))
                return 0
            row = db.execute(select(pin_failures).where(pin_failures.c.card_hmac == key)).first()
            window = timedelta(minutes=limits.pin_window_minutes)
            if row is None or row.first_at < now - window or (row.locked_until and row.locked_until <= now):
                db.execute(delete(pin_failures).where(pin_failures.c.card_hmac == key))
                failures, first = 1, now
            else:
                failures, first = row.failures + 1, row.first_at
                db.execute(delete(pin_failures).where(pin_failures.c.card_hmac == key))
            locked = (
                now + timedelta(minutes=limits.pin_cooldown_minutes)
                if failures >= limits.pin_failures
                else None
            )
            db.execute(
                pin_failures.insert().values(
                    card_hmac=key, failures=failures, first_at=first, locked_until=locked
                )
            )
        return 0 if locked is None else int((locked - now).total_seconds())


__all__ = ["CardBook", "card_digest", "library_key", "normalise_card"]
