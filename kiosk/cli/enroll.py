"""`kiosk enroll URL CODE [--ca FILE] [--config FILE] [--token-file FILE] [--user NAME]`: join the
consortium's gateway.

Staff make a one-time code (`kiosk-gateway enroll-code --library 2190000 --kiosk "Tromsø 1"`); the
technician types it here. The code becomes this kiosk's device token (`server_api.client.enroll`), stored
readable by the station's user alone (0600, `write_token_file`), and the configuration's `[gateway]` section
is written (`kiosk.config.set_section`: the rest of the file stays as it was). From then on `kiosk run`
talks HTTPS to the gateway and holds no SIP2 password.

Whose the token is: a technician usually runs this as root, but the station runs as its service user
(`kiosk` on the image). The token belongs to `--user` if given, else to the owner of the station's data
directory (the journal's folder, or its nearest existing parent), which the image gives to that user.

Every failure is one sentence saying what to do: a code already used or mistyped, a gateway that cannot
be reached, a certificate that is not trusted. The token is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import pwd
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Commands, fail
from kiosk.config import ConfigError, GatewaySection, StationConfig, check_gateway, set_section
from kiosk.config import load as load_config
from server_api.circulation import CirculationError

if TYPE_CHECKING:  # httpx and pydantic load when a kiosk enrolls, not with every `kiosk` command
    from server_api.gateway.wire import EnrollAnswer

DEFAULT_CONFIG = "/etc/kiosk/kiosk.toml"
TOKEN_NAME = "device-token"
EXIT_REFUSED = 65  # the gateway refused the code: a new one is needed (as kiosk-enroll at first boot)
EXIT_UNREACHABLE = 75  # try again later (network, gateway down)


def _current(path: Path) -> StationConfig:
    if not path.exists():
        return StationConfig(source=str(path))
    return load_config(path)


def _gateway_for(config: StationConfig, path: Path, args: argparse.Namespace) -> GatewaySection:
    """The section to write: the URL and CA given now, the token file given, kept or next to the file."""
    old = config.gateway
    token_file = args.token_file or old.token_file or str(path.resolve().parent / TOKEN_NAME)
    ca_file = str(Path(args.ca).resolve()) if args.ca else (old.ca_file if old.url == args.url else "")
    return dataclasses.replace(old, url=args.url.rstrip("/"), token_file=token_file, ca_file=ca_file)


def _section_values(section: GatewaySection) -> dict[str, str]:
    """What differs from the defaults, as `set_section` writes it (numbers and switches included)."""
    defaults = GatewaySection()
    values: dict[str, str] = {}
    for field in dataclasses.fields(GatewaySection):
        value = getattr(section, field.name)
        if value != getattr(defaults, field.name) or field.name in ("url", "token_file"):
            values[field.name] = value
    return values


def _enroll_error(error: CirculationError, url: str, ca: str) -> tuple[str, int]:
    from server_api.client import GatewayRefused, GatewayUnreachable

    text = str(error)
    if isinstance(error, GatewayRefused):
        if error.status == 403:
            message = text.split(": ", 1)[-1]
            return f"the gateway refused the enrollment code: {message}", EXIT_REFUSED
        if error.status == 429:
            return "the gateway saw too many enrollment attempts from here: wait a minute, then try again", 75
        return f"the gateway did not enroll this kiosk ({text}): try again, or ask the consortium's IT", 1
    if isinstance(error, GatewayUnreachable) and ("CERTIFICATE" in text or "SSL" in text):
        trust = f"the CA in {ca}" if ca else "the system's CAs"
        return (
            f"the gateway's certificate at {url} is not trusted by {trust} ({text}): give the "
            "consortium's CA with --ca FILE",
            EXIT_UNREACHABLE,
        )
    if isinstance(error, GatewayUnreachable):
        return (
            f"the gateway at {url} cannot be reached ({text}): check the address, the network and the "
            "library's firewall, then try again",
            EXIT_UNREACHABLE,
        )
    return f"the gateway's answer was not understood ({text}): is {url} the consortium's gateway?", 1


@dataclasses.dataclass(frozen=True)
class Owner:
    name: str
    uid: int
    gid: int


def _token_owner(config: StationConfig, user: str | None) -> Owner:
    """Who the token file belongs to (see the module's docstring)."""
    if user:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise ConfigError(
                f"--user {user}: no such user on this machine (the station's is usually kiosk)"
            ) from None
        return Owner(user, entry.pw_uid, entry.pw_gid)
    data = Path(config.journal.path).resolve().parent
    while not data.exists() and data != data.parent:
        data = data.parent
    info = data.stat()
    try:
        name = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        name = str(info.st_uid)
    return Owner(name, info.st_uid, info.st_gid)


def _give(token_file: str, owner: Owner) -> None:
    """Hand the token to its owner; only root can give a file away (anyone else owns it already)."""
    if os.geteuid() == 0 and Path(token_file).stat().st_uid != owner.uid:
        os.chown(token_file, owner.uid, owner.gid)
    os.chmod(token_file, 0o600)


def _prepare(args: argparse.Namespace) -> tuple[Path, GatewaySection, Owner]:
    """The configuration file, the section to write and the token's owner, checked before the code is
    spent."""
    path = Path(args.config)
    config = _current(path)
    if config.sip2.password_file:
        raise ConfigError(
            f"{path}: [sip2] password_file is set: a kiosk in gateway mode holds no SIP2 password. Remove "
            "that line (and delete the password file), then enroll again"
        )
    section = _gateway_for(config, path, args)
    check_gateway(dataclasses.replace(config, gateway=section), str(path))
    if args.ca and not Path(args.ca).is_file():
        raise ConfigError(f"--ca {args.ca}: no such file: give the consortium's CA certificate (PEM)")
    owner = _token_owner(config, args.user)
    if os.geteuid() != 0 and owner.uid != os.geteuid() and args.user:
        raise ConfigError(f"--user {args.user}: only root can store the token for another user: run as root")
    return path, section, owner


def _write_config(path: Path, section: GatewaySection) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# The station's configuration: see docs/CONFIGURATION.md.\n", encoding="utf-8")
    set_section(path, "gateway", _section_values(section))


def _done(answer: EnrollAnswer, path: Path, section: GatewaySection, owner: Owner) -> None:
    print(
        f"Enrolled as {answer.kiosk_name!r} of {answer.library_name or answer.library} "
        f"({answer.consortium}), device {answer.device_id}.\n"
        f"Device token stored in {section.token_file} (mode 0600, readable by {owner.name} only).\n"
        f"{path}: [gateway] url = {section.url!r}"
        + (f", ca_file = {section.ca_file!r}" if section.ca_file else "")
        + ".\nThe station now talks to the gateway; restart it (systemctl restart kiosk-station)."
    )


def cmd_enroll(args: argparse.Namespace) -> int:
    from server_api.client import enroll, write_token_file

    try:
        path, section, owner = _prepare(args)
    except ConfigError as error:
        return fail(f"error: {error}", 2)
    try:
        answer = asyncio.run(enroll(section.url, args.code, ca_file=section.ca_file))
    except CirculationError as error:
        message, status = _enroll_error(error, section.url, section.ca_file)
        return fail(f"error: {message}", status)
    try:
        write_token_file(section.token_file, answer.token)
        _give(section.token_file, owner)
    except OSError as error:
        return fail(
            f"error: enrolled, but the device token cannot be stored in {section.token_file}: "
            f"{error.strerror}. The code is spent: fix the folder, then ask staff for a new code",
        )
    try:
        _write_config(path, section)
    except (ConfigError, OSError) as error:
        return fail(
            f"error: enrolled and the token is stored in {section.token_file}, but {path} could not be "
            f"updated ({error}): add [gateway] url = {section.url!r} and token_file = "
            f"{section.token_file!r} to it by hand",
        )
    _done(answer, path, section, owner)
    return 0


def register(commands: Commands) -> None:
    enroll_parser = commands.add_parser(
        "enroll", help="join the consortium's gateway with a one-time enrollment code"
    )
    enroll_parser.add_argument("url", help="the gateway, e.g. https://gateway.example.net:8443")
    enroll_parser.add_argument("code", help="the one-time code from staff, e.g. K7Q2M-9XH4T-PZ3CW-R8N1D")
    enroll_parser.add_argument("--ca", help="trust only this CA certificate (PEM) for the gateway")
    enroll_parser.add_argument("--config", default=DEFAULT_CONFIG, help=f"default {DEFAULT_CONFIG}")
    enroll_parser.add_argument(
        "--token-file", help=f"where the device token goes (default: {TOKEN_NAME} beside the configuration)"
    )
    enroll_parser.add_argument(
        "--user",
        help="the station's service user, who gets the token (default: the owner of the journal's folder)",
    )
    enroll_parser.set_defaults(func=cmd_enroll)


__all__ = ["cmd_enroll", "register"]
