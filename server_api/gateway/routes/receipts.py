"""`POST /v1/receipts`: a kiosk's receipt, sent by e-mail to the patron (device token; the device's own
library, where that library has `email_receipts = true` and the gateway has `[mail]`).

The kiosk sends the card number, the language and the receipt's text; the gateway asks the library
system for the patron's address (SIP2 63, field BE) now, sends with SMTP in a worker thread, and forgets
both: nothing is written to the database, the address is in no log line and in no answer.

Answers: 204 sent; 404 `email_receipts_off`; 409 `no_email_address` (the library system has none) or
`address_refused` (the mail server would not take it); 429 too many; 503 `mail_unavailable` (the mail
server cannot be reached) or `mail_refused` (it refused the login or the message): nothing was sent; or
the library system's errors as elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib

from fastapi import APIRouter, Response

from server_api.circulation import CirculationError

from ..app import problem, tenant
from ..mail import ReceiptMail, send_mail, valid_address
from ..storage import run
from .kiosk import ERRORS, DeviceDep, GatewayDep, library_error

log = logging.getLogger(__name__)
router = APIRouter()
# A kiosk serves a patron a minute at most; a card gets a receipt or two a visit. More is a fault or abuse.
# Counted in the database (`server_api.gateway.limits`), so every gateway process shares them.
PER_KIOSK, PER_CARD = 30, 5


@router.post(
    "/v1/receipts",
    status_code=204,
    responses={**ERRORS, 404: ERRORS[403], 409: ERRORS[403]},
    tags=["receipts"],
)
async def email_receipt(receipt: ReceiptMail, device: DeviceDep, gateway: GatewayDep) -> Response:
    """Send the receipt to the address the library system has for `patron_id`; keep nothing."""
    library = tenant(device, receipt.library)
    settings = gateway.config.mail
    if settings is None or not gateway.config.libraries()[library].email_receipts:
        raise problem(404, "email_receipts_off", f"library {library} does not send receipts by e-mail")
    limits = gateway.limits
    kiosk, card = limits.exact("receipt_kiosk", PER_KIOSK), limits.exact("receipt_card", PER_CARD)
    if not (await run(kiosk.allow, device.id) and await run(card.allow, limits.card_key(receipt.patron_id))):
        raise problem(429, "rate_limited", "too many e-mail receipts; wait a minute", {"Retry-After": "60"})
    try:
        address = await gateway.carrier.circulation(library).patron_email(receipt.patron_id)
    except CirculationError as exc:
        raise library_error(exc) from None
    if not valid_address(address):
        raise problem(
            409, "no_email_address", "the library system has no usable e-mail address for this card"
        )
    message = receipt.message(settings.sender, address)
    del address  # from here on only the message holds it, and it is gone when this request is
    try:
        await asyncio.to_thread(
            send_mail,
            settings,
            message,
            password=gateway.config.mail_password(),
            ca_file=str(gateway.config.path(settings.ca_file)) if settings.ca_file else "",
        )
    except smtplib.SMTPRecipientsRefused:
        raise problem(409, "address_refused", "the mail server refused the patron's address") from None
    except smtplib.SMTPException as exc:  # it refused our login, the sender or the message
        log.warning("e-mail receipt from %s refused by the mail server: %s", device.id, type(exc).__name__)
        raise problem(503, "mail_refused", "the mail server refused the receipt; nothing was sent") from None
    except OSError as exc:
        log.warning("e-mail receipt from %s not sent: %s", device.id, type(exc).__name__)
        raise problem(
            503, "mail_unavailable", "the mail server cannot be reached; nothing was sent"
        ) from None
    log.info("e-mail receipt sent for %s (library %s, %s)", device.id, library, receipt.language)
    return Response(status_code=204)


__all__ = ["router"]
