"""The gateway's `[mail]` settings and the e-mail receipt as a message: every mistake named where it is, the
password only from an owner-only file, no header a kiosk could smuggle in, the language on the message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from server_api.circulation import PatronAccount
from server_api.gateway.config import GatewayConfigError, load
from server_api.gateway.demo import write_demo_config
from server_api.gateway.mail import MailSettings, ReceiptMail, address_shown, valid_address

MAIL = '\n[mail]\nhost = "smtp.example.org"\nsender = "Biblioteket <bibliotek@example.org>"\n'


def config_with(tmp_path: Path, extra: str, *, email_receipts: bool = False) -> Path:
    path = write_demo_config(tmp_path / "gw")
    text = path.read_text(encoding="utf-8")
    if email_receipts:
        text = text.replace('number = "2190000"\n', 'number = "2190000"\nemail_receipts = true\n', 1)
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_a_library_with_email_receipts_needs_a_mail_section(tmp_path: Path) -> None:
    with pytest.raises(GatewayConfigError, match="2190000 have email_receipts but there is no \\[mail\\]"):
        load(config_with(tmp_path, "", email_receipts=True))
    config = load(config_with(tmp_path, MAIL, email_receipts=True))
    assert config.mail is not None and config.mail.port == 587 and config.mail.tls == "starttls"
    assert config.libraries()["2190000"].email_receipts and not config.libraries()["2190100"].email_receipts


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (
            'host = "h"\nsender = "a@b.no"\ntls = "ssl"',
            "[mail] tls: Input should be 'starttls', 'tls' or 'none'",
        ),
        (
            'host = "h"\nsender = "a@b.no"\nport = 0',
            "[mail] port: Input should be greater than or equal to 1",
        ),
        ('host = "h"\nsender = "bibliotek"', "[mail] sender: Value error, sender must be an e-mail address"),
        ('host = "h"\nsender = "a@b.no"\nhelo = "x"', "[mail] helo: Extra inputs are not permitted"),
        ('sender = "a@b.no"', "[mail] host: Field required"),
    ],
)
def test_a_wrong_mail_setting_is_named(tmp_path: Path, lines: str, words: str) -> None:
    with pytest.raises(GatewayConfigError, match=re.escape(words)):
        load(config_with(tmp_path, f"\n[mail]\n{lines}\n"))


def test_the_smtp_password_comes_from_an_owner_only_file_and_check_config_says_what_is_wrong(
    tmp_path: Path,
) -> None:
    config = load(
        config_with(tmp_path, MAIL + 'username = "gw"\npassword_file = "smtp.pw"\nca_file = "ca.pem"\n')
    )
    problems = config.check()
    assert any("[mail] password_file" in p and "cannot read" in p for p in problems)
    assert any("[mail] ca_file" in p and "does not exist" in p for p in problems)
    secret = config.path("smtp.pw")
    secret.write_text("hemmelig\n", encoding="utf-8")
    secret.chmod(0o644)
    assert any("chmod 600" in p for p in config.check())
    secret.chmod(0o600)
    assert config.mail_password() == "hemmelig"


def test_only_plain_addresses_are_addresses() -> None:
    assert valid_address("ande.nuolja@example.no")
    for bad in ("", "ande", "a@b", "a b@example.no", "a@example.no, b@example.no", "<a@example.no>",
                "a@example.no\r\nBcc: b@example.no", "x" * 250 + "@example.no"):  # fmt: skip
        assert not valid_address(bad), bad
    assert valid_address("kiosk-gateway@localhost", local_domain=True)


def test_a_receipt_mail_refuses_smuggled_headers_and_carries_its_language() -> None:
    with pytest.raises(ValidationError):
        ReceiptMail(patron_id="1", language="nb", subject="Hei\nBcc: x@example.no", body="b")
    with pytest.raises(ValidationError):
        ReceiptMail.model_validate(
            {"patron_id": "1", "language": "nb", "subject": "s", "body": "b", "to": "x"}
        )
    mail = ReceiptMail(patron_id="1", language="se", subject="Kvitteanga", body="Loanat: Áddjá ja njoammil\n")
    message = mail.message("Biblioteket <bibliotek@example.org>", "ande@example.no")
    assert message["Content-Language"] == "se" and message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == "ande@example.no" and "Áddjá" in message.get_content()


def test_kiosks_see_an_address_only_masked_and_only_where_receipts_are_mailed() -> None:
    account = PatronAccount("1", True, None, email="ande.nuolja@example.no")
    assert address_shown(account, True).email == "a•••@e•••.no"
    assert address_shown(account, False).email == ""
    assert MailSettings(host="h", sender="a@b.no").tls == "starttls"
