"""Alerts go out through the gateway's own `[mail]` server (STARTTLS, login, its CA) when console.toml names
no relay: a consortium's SMTP server wants both, and alerts sent in the clear never arrived."""

from __future__ import annotations

import time
from pathlib import Path

from server_api.console.alerts import mail_route
from server_api.console.settings import load_console_settings
from server_api.gateway.config import load
from tests.console.conftest import ConsoleSite
from tests.gateway.servers import GatewayProcess, free_port, make_gateway_config
from tests.printer.mail_server import (
    SMTP_PASSWORD,
    TROMSO,
    mail_gateway_config,
)


def test_alerts_without_a_relay_go_through_the_gateways_mail_server_with_starttls_and_login(
    tmp_path: Path,
) -> None:
    with mail_gateway_config(tmp_path) as (config, mailbox, _ils):
        (config.parent / "console.toml").write_text(
            "[alerts]\noffline_minutes = 1\ncheck_seconds = 0.3\n"
            f'[alerts.libraries]\n"{TROMSO}" = ["tromso@test.invalid"]\n'
        )
        route = mail_route(load_console_settings(load(config)), load(config))
        assert route is not None and route[0].tls == "starttls" and route[1] == SMTP_PASSWORD
        process = GatewayProcess(config).start()
        try:
            site = ConsoleSite(process.url, config, mailbox)  # type: ignore[arg-type]
            site.enroll(TROMSO, "Tromsø 9")
            site.heartbeat("Tromsø 9", printer="paper_out")
            deadline = time.monotonic() + 20
            while not mailbox.messages and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.stop()
    assert mailbox.messages, "no alert arrived at the TLS server that wants a login"
    alert = mailbox.messages[0]
    assert "Tromsø 9" in str(alert["Subject"]) and "paper_out" in str(alert["Subject"])
    assert str(alert["To"]) == "tromso@test.invalid"
    assert str(alert["From"]) == "Tromsø bibliotek <bibliotek@example.org>"  # the [mail] account's address
    assert mailbox.logins  # it logged in (over STARTTLS: the server takes a login on TLS only)


def test_no_relay_and_no_mail_server_means_no_alert_mail(tmp_path: Path) -> None:
    config = make_gateway_config(tmp_path / "gw", free_port(), "sqlite:///gateway.sqlite")
    assert mail_route(load_console_settings(load(config)), load(config)) is None


def test_a_relay_named_in_console_toml_is_used_as_before(tmp_path: Path) -> None:
    port = 2525
    config = make_gateway_config(tmp_path / "gw", free_port(), "sqlite:///gateway.sqlite")
    (config.parent / "console.toml").write_text(
        f'[alerts]\nsmtp_host = "relay.example.org"\nsmtp_port = {port}\nsender = "kiosker@example.org"\n'
    )
    route = mail_route(load_console_settings(load(config)), load(config))
    assert route is not None
    smtp, password, ca_file = route
    assert (smtp.host, smtp.port, smtp.tls, smtp.sender, password, ca_file) == (
        "relay.example.org",
        port,
        "none",
        "kiosker@example.org",
        "",
        "",
    )
