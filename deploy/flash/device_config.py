"""One kiosk's settings (the device configuration): read, checked, and written for the boot partition.

The file is TOML with the sections ``[kiosk]``, ``[gateway]``, ``[wifi]`` and ``[ssh]``
(see ``deploy/flash/device-example.toml``). Every mistake is reported with the file, the section and the key,
what is wrong and what a good value looks like; an unknown key suggests the nearest known one.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_ENROLL_COMMAND",
    "DeviceConfig",
    "DeviceConfigError",
    "Wifi",
    "from_mapping",
    "load",
    "to_toml",
]

DEFAULT_ENROLL_COMMAND: tuple[str, ...] = (
    "/opt/kiosk/venv/bin/kiosk-enroll",
    "{gateway_url}",
    "--code-file",
    "{code_file}",
)
LANGUAGES = ("nb", "nn", "se", "smj", "sma", "sms", "fkv", "fi", "sv", "ru", "en")
PLACEHOLDERS = ("{gateway_url}", "{code_file}", "{kiosk_name}", "{library}")
_KNOWN: dict[str, tuple[str, ...]] = {
    "kiosk": ("library", "name", "hostname", "language"),
    "gateway": ("url", "enrollment_code", "enroll_command", "insecure_http"),
    "wifi": ("ssid", "psk", "country"),
    "ssh": ("authorized_keys",),
    "display": ("renderer", "watchdog_seconds"),
}
RENDERERS = ("auto", "pixman")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{4,62}[A-Za-z0-9]")
_HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Letters NFKD does not take apart into a base letter and a mark.
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ð": "d", "Ð": "D", "þ": "th", "ß": "ss"})
_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


class DeviceConfigError(ValueError):
    """The device configuration is wrong; the message says where, what, and what would be right."""


@dataclass(frozen=True)
class Wifi:
    ssid: str
    psk: str
    country: str


@dataclass(frozen=True)
class DeviceConfig:
    library: str
    name: str
    hostname: str
    gateway_url: str
    enrollment_code: str
    language: str = "nb"
    enroll_command: tuple[str, ...] = DEFAULT_ENROLL_COMMAND
    insecure_http: bool = False
    wifi: Wifi | None = None
    ssh_keys: tuple[str, ...] = field(default_factory=tuple)
    renderer: str = "auto"  # "pixman": draw in software, for graphics the GPU driver cannot share (VMs)
    watchdog_seconds: int = 0  # 0: the station unit's own (30 s); more where frames are slow (software GL)

    def with_changes(self, **changes: Any) -> DeviceConfig:
        return replace(self, **changes)

    def describe(self) -> str:
        """What a technician should read back: no secrets."""
        wifi = f"Wi-Fi {self.wifi.ssid!r}" if self.wifi else "wired network"
        ssh = f"SSH for {len(self.ssh_keys)} key(s)" if self.ssh_keys else "SSH off"
        who = f"{self.library} / {self.name} (host name {self.hostname})"
        return f"{who}, gateway {self.gateway_url}, {wifi}, {ssh}"


def load(path: Path) -> DeviceConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DeviceConfigError(f"{path}: cannot read the device configuration: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise DeviceConfigError(f"{path}: not UTF-8 text (save it as UTF-8): {error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DeviceConfigError(f"{path}: not valid TOML: {error}") from error
    return from_mapping(data, str(path))


def from_mapping(data: dict[str, Any], source: str = "<device config>") -> DeviceConfig:
    _check_names(data, source)
    kiosk = _section(data, "kiosk", source, required=True)
    gateway = _section(data, "gateway", source, required=True)
    name = _text(kiosk, "kiosk", "name", source, limit=100)
    hostname = kiosk.get("hostname")
    if hostname is None:
        hostname = hostname_from(name)
    hostname = _hostname(hostname, source)
    language = kiosk.get("language", "nb")
    if language not in LANGUAGES:
        raise DeviceConfigError(f"{source}: [kiosk] language {language!r}: use one of {', '.join(LANGUAGES)}")
    insecure = gateway.get("insecure_http", False)
    if not isinstance(insecure, bool):
        raise DeviceConfigError(f"{source}: [gateway] insecure_http must be true or false, not {insecure!r}")
    return DeviceConfig(
        library=_text(kiosk, "kiosk", "library", source, limit=100),
        name=name,
        hostname=hostname,
        language=language,
        gateway_url=_gateway_url(gateway.get("url"), insecure, source),
        enrollment_code=_enrollment_code(gateway.get("enrollment_code"), source),
        enroll_command=_enroll_command(gateway.get("enroll_command"), source),
        insecure_http=insecure,
        wifi=_wifi(data.get("wifi"), source),
        ssh_keys=_ssh_keys(data.get("ssh", {}).get("authorized_keys", []), source),
        renderer=_renderer(data.get("display", {}).get("renderer", "auto"), source),
        watchdog_seconds=_watchdog(data.get("display", {}).get("watchdog_seconds", 0), source),
    )


def hostname_from(name: str) -> str:
    """'Hovedbiblioteket, 1. etasje' -> 'hovedbiblioteket-1-etasje' (ø and å become o and a)."""
    folded = unicodedata.normalize("NFKD", name.translate(_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:63].strip("-") or "kiosk"


def to_toml(config: DeviceConfig) -> str:
    """The file first boot reads from the boot partition (secrets included; first boot moves them)."""
    lines = ["# Written by kiosk-flash. First boot moves the secrets to the data partition.", "", "[kiosk]"]
    lines += _pairs(
        library=config.library, name=config.name, hostname=config.hostname, language=config.language
    )
    lines += ["", "[gateway]"]
    lines += _pairs(
        url=config.gateway_url,
        enrollment_code=config.enrollment_code,
        enroll_command=list(config.enroll_command),
        insecure_http=config.insecure_http,
    )
    if config.wifi:
        lines += ["", "[wifi]"]
        lines += _pairs(ssid=config.wifi.ssid, psk=config.wifi.psk, country=config.wifi.country)
    lines += ["", "[ssh]"]
    lines += _pairs(authorized_keys=list(config.ssh_keys))
    lines += ["", "[display]"]
    lines += _pairs(renderer=config.renderer)
    if config.watchdog_seconds:
        lines += _pairs(watchdog_seconds=config.watchdog_seconds)
    return "\n".join(lines) + "\n"


def _pairs(**values: object) -> list[str]:
    # JSON strings, lists and booleans are valid TOML values (basic strings use the same escapes).
    return [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]


def _check_names(data: dict[str, Any], source: str) -> None:
    for section, values in data.items():
        if section not in _KNOWN:
            raise _unknown(source, "section", f"[{section}]", [f"[{name}]" for name in _KNOWN])
        if not isinstance(values, dict):
            raise DeviceConfigError(f"{source}: [{section}] must be a section (a table), not a value")
        for key in values:
            if key not in _KNOWN[section]:
                raise _unknown(source, f"key in [{section}]", key, list(_KNOWN[section]))


def _unknown(source: str, what: str, name: str, known: list[str]) -> DeviceConfigError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}"
    return DeviceConfigError(f"{source}: unknown {what} {name}{hint}")


def _section(data: dict[str, Any], name: str, source: str, *, required: bool) -> dict[str, Any]:
    if name not in data and required:
        raise DeviceConfigError(f"{source}: the [{name}] section is missing (see device-example.toml)")
    section: dict[str, Any] = data.get(name, {})
    return section


def _text(section: dict[str, Any], where: str, key: str, source: str, *, limit: int) -> str:
    value = section.get(key)
    if value is None:
        raise DeviceConfigError(f"{source}: [{where}] {key} is missing")
    if not isinstance(value, str) or not value.strip():
        raise DeviceConfigError(f"{source}: [{where}] {key} must be a non-empty text, not {value!r}")
    if len(value) > limit or any(unicodedata.category(char) == "Cc" for char in value):
        raise DeviceConfigError(
            f"{source}: [{where}] {key} must be at most {limit} characters without control characters"
        )
    return value.strip()


def _hostname(value: object, source: str) -> str:
    if not isinstance(value, str) or not _HOSTNAME.fullmatch(value):
        raise DeviceConfigError(
            f"{source}: [kiosk] hostname {value!r}: use 1-63 lowercase letters, digits and '-' "
            "(not at the start or end), e.g. 'tromso-hoved-1'"
        )
    return value


def _gateway_url(value: object, insecure: bool, source: str) -> str:
    if not isinstance(value, str):
        raise DeviceConfigError(f"{source}: [gateway] url is missing (e.g. 'https://gateway.example.org')")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeviceConfigError(f"{source}: [gateway] url {value!r}: give https://HOST[:PORT][/PATH]")
    if parts.scheme == "http" and not insecure:
        raise DeviceConfigError(
            f"{source}: [gateway] url {value!r} is not encrypted: use https://, or set insecure_http = true "
            "for a test gateway"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise DeviceConfigError(f"{source}: [gateway] url {value!r}: no user, password, query or fragment")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        raise DeviceConfigError(f"{source}: [gateway] url {value!r}: {error}") from error
    return value.rstrip("/")


def _enrollment_code(value: object, source: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value.strip()):
        raise DeviceConfigError(
            f"{source}: [gateway] enrollment_code is missing or malformed: copy the one-time code the staff "
            "console showed when the kiosk was added (6-64 letters, digits and '-')"
        )
    return value.strip()


def _enroll_command(value: object, source: str) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_ENROLL_COMMAND
    if not isinstance(value, list) or not value or not all(isinstance(part, str) and part for part in value):
        raise DeviceConfigError(f"{source}: [gateway] enroll_command must be a list of texts (program first)")
    if not value[0].startswith("/"):
        raise DeviceConfigError(
            f"{source}: [gateway] enroll_command must start with an absolute program path"
        )
    if "{code}" in " ".join(value):
        raise DeviceConfigError(
            f"{source}: [gateway] enroll_command: use {{code_file}}, not {{code}} (a code on a command "
            "line is visible to every process on the kiosk)"
        )
    for part in value:
        for placeholder in re.findall(r"\{[^}]*\}", part):
            if placeholder not in PLACEHOLDERS:
                raise DeviceConfigError(
                    f"{source}: [gateway] enroll_command: unknown {placeholder}; "
                    f"known: {', '.join(PLACEHOLDERS)}"
                )
    return tuple(value)


def _wifi(value: object, source: str) -> Wifi | None:
    if value is None:
        return None
    assert isinstance(value, dict)  # _check_names made sure
    ssid, psk, country = value.get("ssid"), value.get("psk"), value.get("country")
    if not isinstance(ssid, str) or not 1 <= len(ssid.encode()) <= 32:
        raise DeviceConfigError(f"{source}: [wifi] ssid must be the network's name, 1-32 bytes")
    hex_key = isinstance(psk, str) and re.fullmatch(r"[0-9a-fA-F]{64}", psk) is not None
    if not isinstance(psk, str) or not (
        hex_key or (8 <= len(psk) <= 63 and psk.isascii() and psk.isprintable())
    ):
        raise DeviceConfigError(
            f"{source}: [wifi] psk must be the WPA passphrase (8-63 printable ASCII characters) "
            "or 64 hex digits"
        )
    if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
        raise DeviceConfigError(
            f"{source}: [wifi] country must be the two-letter country code (e.g. 'NO'): the radio needs it"
        )
    return Wifi(ssid=ssid, psk=psk, country=country)


def _renderer(value: object, source: str) -> str:
    if value not in RENDERERS:
        raise DeviceConfigError(
            f"{source}: [display] renderer {value!r}: use 'auto' (the GPU) or 'pixman' (software, for "
            "screens whose driver the compositor cannot use, such as a virtual machine's)"
        )
    return str(value)


def _watchdog(value: object, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (value == 0 or 30 <= value <= 900):
        raise DeviceConfigError(
            f"{source}: [display] watchdog_seconds {value!r}: seconds from 30 to 900 a frame may take before "
            "the station counts as hung (only for slow software drawing), or 0 for the default"
        )
    return value


def _ssh_keys(value: object, source: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise DeviceConfigError(f"{source}: [ssh] authorized_keys must be a list of public keys")
    keys: list[str] = []
    for number, key in enumerate(value, start=1):
        if not isinstance(key, str) or "\n" in key:
            raise DeviceConfigError(f"{source}: [ssh] authorized_keys #{number}: one public key per text")
        parts = key.split()
        if len(parts) < 2 or parts[0] not in _KEY_TYPES or not _is_base64(parts[1]):
            raise DeviceConfigError(
                f"{source}: [ssh] authorized_keys #{number} is not an SSH public key: paste the one line of "
                "your id_ed25519.pub ('ssh-ed25519 AAAA... name'), never the private key"
            )
        keys.append(" ".join(parts))
    return tuple(keys)


def _is_base64(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) > 16
    except (binascii.Error, ValueError):
        return False
