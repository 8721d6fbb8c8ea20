"""E-mail alerts: a kiosk offline longer than `offline_minutes`, a printer out of paper, a reader gone,
security writes failing. One alert per kiosk and kind while the problem lasts (no mail storm); when the
problem is gone the alert is closed, and a new one may be raised later.

Mail goes through SMTP (smtplib, in a worker thread) to the library's addresses and the consortium's:
through the gateway's own `[mail]` server (STARTTLS or TLS, login, CA: the one that sends e-mail receipts),
or, when console.toml names `[alerts] smtp_host`, through that relay in the clear (a local MTA). An alert
whose mail could not be sent stays unsent and is tried again on the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from server_api.gateway.config import GatewayConfig
from server_api.gateway.devices import utcnow
from server_api.gateway.mail import MailSettings, send_mail

from .accounts import Viewer, expire_sessions
from .fleet import KioskState, fleet
from .settings import ConsoleSettings
from .tables import alerts

log = logging.getLogger(__name__)
EVERYONE = Viewer("alerts", "admin", None)
# fleet problem -> alert kind
ALERTING = {"reader": "reader_gone", "printer_out": "paper_out", "security_writes": "security_writes"}
WORDS = {
    "offline": "no heartbeat for {minutes:.0f} minutes / ikke meldt seg på {minutes:.0f} minutter",
    "paper_out": "printer is out of paper or off / skriveren er tom for papir eller av",
    "reader_gone": "RFID reader is gone / RFID-leseren er borte",
    "security_writes": "security writes are failing / sikringen av medier feiler",
}


def wanted(kiosk: KioskState, offline_minutes: float) -> set[str]:
    """The alerts this kiosk calls for. Offline: no heartbeat for `offline_minutes`, counted from its
    enrolment while it has sent none (a kiosk just enrolled is not yet missing)."""
    kinds = {ALERTING[p] for p in kiosk.problems if p in ALERTING}
    last_heard = kiosk.seen_at or kiosk.enrolled_at
    if last_heard is None or last_heard < utcnow() - timedelta(minutes=offline_minutes):
        kinds.add("offline")
    return kinds


def check(engine: Engine, settings: ConsoleSettings) -> list[tuple[int, KioskState, str]]:
    """Open and close alerts; returns (alert id, kiosk, kind) of those whose mail is still to be sent.

    Several gateway processes may run this at once: an open alert is unique per kiosk and kind (a partial
    unique index), so the second process's insert fails and is let go."""
    offline_after = timedelta(seconds=settings.offline_after_seconds)
    kiosks = {k.id: k for k in fleet(engine, EVERYONE, offline_after)}
    now = utcnow()
    with engine.begin() as db:
        open_rows = db.execute(select(alerts).where(alerts.c.cleared_at.is_(None))).all()
        for row in open_rows:
            kiosk = kiosks.get(row.device_id)
            if kiosk is None or row.kind not in wanted(kiosk, settings.alerts.offline_minutes):
                db.execute(update(alerts).where(alerts.c.id == row.id).values(cleared_at=now))
    have = {(r.device_id, r.kind) for r in open_rows}
    for kiosk in kiosks.values():
        for kind in wanted(kiosk, settings.alerts.offline_minutes):
            if (kiosk.id, kind) not in have:
                with contextlib.suppress(IntegrityError), engine.begin() as db:
                    db.execute(
                        insert(alerts).values(
                            device_id=kiosk.id, library=kiosk.library, kind=kind, raised_at=now
                        )
                    )
    with engine.connect() as db:
        unsent = db.execute(
            select(alerts).where(alerts.c.cleared_at.is_(None), alerts.c.sent_at.is_(None))
        ).all()
    return [(r.id, kiosks[r.device_id], r.kind) for r in unsent if r.device_id in kiosks]


def _claim(engine: Engine, alert_id: int, sent: bool) -> bool:
    """Mark an alert's mail as sent (True: this process won it) or, after a failure, as unsent again."""
    with engine.begin() as db:
        if not sent:
            db.execute(update(alerts).where(alerts.c.id == alert_id).values(sent_at=None))
            return False
        won = db.execute(
            update(alerts).where(alerts.c.id == alert_id, alerts.c.sent_at.is_(None)).values(sent_at=utcnow())
        )
    return bool(won.rowcount)


def message_for(
    kiosk: KioskState, kind: str, settings: ConsoleSettings, *, sender: str
) -> EmailMessage | None:
    recipients = [*settings.alerts.consortium, *settings.alerts.libraries.get(kiosk.library, ())]
    if not recipients:
        return None
    minutes = 0.0 if kiosk.seen_at is None else (utcnow() - kiosk.seen_at).total_seconds() / 60
    mail = EmailMessage()
    mail["From"] = sender  # the relay's [alerts] sender, or the [mail] account's own address
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to an alert
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = f"[kiosk] {kiosk.name} ({kiosk.library}): {kind}"
    body = WORDS[kind].format(minutes=minutes)
    mail.set_content(
        f"{kiosk.name}, library {kiosk.library}: {body}\n\n"
        f"See the staff console / se konsollet: /console/kiosks/{kiosk.id}\n"
    )
    return mail


def mail_route(
    settings: ConsoleSettings, config: GatewayConfig | None
) -> tuple[MailSettings, str, str] | None:
    """The SMTP server alerts go through, its password and CA file; None: alerts are not mailed."""
    relay = settings.alerts
    if relay.smtp_host:  # console.toml's relay, in the clear; console.toml checked its own values already
        plain = MailSettings.model_construct(
            host=relay.smtp_host,
            port=relay.smtp_port,
            tls="none",
            sender=relay.sender,
            timeout=relay.smtp_timeout,
        )
        return plain, "", ""
    if config is None or config.mail is None:
        return None
    ca_file = str(config.path(config.mail.ca_file)) if config.mail.ca_file else ""
    return config.mail, config.mail_password(), ca_file


def send_round(engine: Engine, settings: ConsoleSettings, config: GatewayConfig | None = None) -> int:
    """One round: update alerts and mail the new ones; returns how many mails went out."""
    due = check(engine, settings)
    route = mail_route(settings, config)
    if route is None:
        return 0
    smtp, password, ca_file = route
    sent = 0
    for alert_id, kiosk, kind in due:
        mail = message_for(kiosk, kind, settings, sender=smtp.sender)
        if mail is None or not _claim(engine, alert_id, True):  # nobody to tell, or another process did
            continue
        try:
            send_mail(smtp, mail, password=password, ca_file=ca_file)
        except (OSError, smtplib.SMTPException) as exc:
            _claim(engine, alert_id, False)
            log.warning("alert mail for %s could not be sent (%s); trying again later", kiosk.id, exc)
            return sent
        sent += 1
    return sent


async def watch(engine: Engine, settings: ConsoleSettings, config: GatewayConfig | None = None) -> None:
    """Rounds every `check_seconds`, for as long as the gateway runs (and forgets dead sessions)."""
    while True:
        try:
            await asyncio.to_thread(send_round, engine, settings, config)
            await asyncio.to_thread(expire_sessions, engine, settings.idle_minutes)
        except Exception:  # the database went away for a moment: the next round tries again
            log.exception("alert round failed")
        await asyncio.sleep(settings.alerts.check_seconds)


def open_alerts(engine: Engine, viewer: Viewer) -> list[dict[str, object]]:
    from .fleet import visible

    query = select(alerts).where(alerts.c.cleared_at.is_(None), visible(viewer, alerts.c.library))
    with engine.connect() as db:
        return [dict(row._mapping) for row in db.execute(query.order_by(alerts.c.raised_at))]


__all__ = ["check", "mail_route", "open_alerts", "send_round", "watch"]
