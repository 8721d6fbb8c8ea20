"""The staff credential (issue 11, finding 5): a passphrase or a staff card with a PIN, kept only as an
argon2id hash in the station's configuration; weak credentials and weak or foreign hashes are refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.cli import main
from kiosk.config import ConfigError, load, set_section
from kiosk.credentials import (
    CredentialKind,
    hash_credential,
    hash_problem,
    secret_of,
    verify_credential,
    weakness,
)


def test_a_passphrase_is_kept_only_as_its_argon2id_hash_and_verifies():
    stored = hash_credential(secret_of(CredentialKind.PASSPHRASE, passphrase="korrekt hest batteri stift"))
    assert stored.startswith("$argon2id$") and "hest" not in stored
    assert verify_credential(stored, "korrekt hest batteri stift")
    assert not verify_credential(stored, "korrekt hest batteri")
    assert not verify_credential("not a hash", "anything")  # never raises


def test_a_staff_card_opens_nothing_without_its_pin_and_the_pin_nothing_without_the_card():
    stored = hash_credential(secret_of(CredentialKind.CARD_PIN, card="2190009999", pin="482913"))
    assert verify_credential(stored, secret_of(CredentialKind.CARD_PIN, card="2190009999", pin="482913"))
    assert not verify_credential(stored, secret_of(CredentialKind.CARD_PIN, card="2190009999", pin="000000"))
    assert not verify_credential(stored, secret_of(CredentialKind.CARD_PIN, card="2190009998", pin="482913"))


@pytest.mark.parametrize(
    ("kind", "given", "words"),
    [
        (CredentialKind.PASSPHRASE, {"passphrase": "123456"}, "at least 12 characters"),
        (CredentialKind.CARD_PIN, {"card": "2190009999", "pin": "1234"}, "at least 6 digits"),
        (CredentialKind.CARD_PIN, {"card": "219", "pin": "123456"}, "card's number needs at least 6"),
    ],
)
def test_a_weak_credential_is_refused_with_what_would_do(
    kind: CredentialKind, given: dict[str, str], words: str
):
    assert words in (weakness(kind, **given) or "")


def test_only_an_argon2id_hash_of_at_least_the_owasp_strength_is_accepted():
    assert hash_problem(hash_credential("a good long passphrase")) is None
    assert "not an argon2 hash" in (hash_problem("5f4dcc3b5aa765d61d8327deb882cf99") or "")
    argon2i = PasswordHasher(type=__import__("argon2").Type.I).hash("x" * 12)
    assert "not argon2id" in (hash_problem(argon2i) or "")
    weak = PasswordHasher(memory_cost=1024, time_cost=1).hash("x" * 12)
    assert "too weak" in (hash_problem(weak) or "")


def test_the_configuration_refuses_a_credential_that_is_not_a_strong_hash(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[staff]\nkind = "passphrase"\ncredential = "hunter2"\n', encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"kiosk.toml: \[staff\] credential: not an argon2 hash: set it with"
    ):
        load(path)
    stored = hash_credential("a good long passphrase")
    path.write_text(f'[staff]\nkind = "card_pin"\ncredential = "{stored}"\n', encoding="utf-8")
    assert load(path).staff.kind == "card_pin"
    path.write_text('[staff]\nkind = "pin"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[staff\] kind: 'pin' is not one of passphrase, card_pin"):
        load(path)


def test_setting_the_credential_rewrites_only_the_staff_section_and_keeps_the_files_mode(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '# Tromsø main library, kiosk 1\n[station]\nname = "Kiosk 1"  # by the door\n\n'
        '[staff]\nkind = "passphrase"\ncredential = "old"\n\n[session]\nidle_timeout = 90\n',
        encoding="utf-8",
    )
    path.chmod(0o640)
    stored = hash_credential("a good long passphrase")
    config = set_section(path, "staff", {"kind": "passphrase", "credential": stored})
    assert config.staff.credential == stored and config.session.idle_timeout == 90
    text = path.read_text(encoding="utf-8")
    assert text.startswith('# Tromsø main library, kiosk 1\n[station]\nname = "Kiosk 1"  # by the door\n')
    assert '"old"' not in text and text.count("[staff]") == 1
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_credential_that_would_not_load_leaves_the_file_as_it_was(tmp_path: Path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[station]\nname = "Kiosk 1"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[staff\] credential: not an argon2 hash"):
        set_section(path, "staff", {"kind": "passphrase", "credential": "plain text"})
    assert path.read_text(encoding="utf-8") == '[station]\nname = "Kiosk 1"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiosk.toml"]


def test_kiosk_staff_set_credential_writes_only_the_hash_and_refuses_a_weak_or_mistyped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "kiosk.toml"
    path.write_text('[station]\nname = "Kiosk 1"\n', encoding="utf-8")

    def answers(*lines: str) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))

    answers("short", "short")
    assert main(["staff", "set-credential", "--config", str(path)]) == 1
    assert "at least 12 characters (a few words are best): nothing was changed" in capsys.readouterr().err
    answers("korrekt hest batteri stift", "korrekt hest batteri")
    assert main(["staff", "set-credential", "--config", str(path)]) == 1
    assert "the two entries differ" in capsys.readouterr().err
    assert "[staff]" not in path.read_text(encoding="utf-8")
    answers("korrekt hest batteri stift", "korrekt hest batteri stift")
    assert main(["staff", "set-credential", "--config", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert "hest" not in text and "$argon2id$" in text
    assert verify_credential(load(path).staff.credential, "korrekt hest batteri stift")
    answers("2190009999", "482913", "482913")
    assert main(["staff", "set-credential", "--config", str(path), "--kind", "card_pin"]) == 0
    config = load(path)
    assert config.staff.kind == "card_pin"
    assert verify_credential(
        config.staff.credential, secret_of(CredentialKind.CARD_PIN, card="2190009999", pin="482913")
    )
