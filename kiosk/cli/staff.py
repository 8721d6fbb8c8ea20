"""`kiosk staff set-credential --config FILE [--kind passphrase|card_pin]`: the staff screen's credential.

Asks twice for the passphrase (or for the staff card's number and the PIN twice), refuses a weak one,
and writes only its argon2id hash into the file's `[staff]` section (`kiosk.config.set_section`: the rest
of the file stays as it was). From a terminal it asks without echo; from a pipe it reads one line per
answer (for provisioning scripts). The station reads it at its next start. How a technician resets a
forgotten one: docs/SECURITY.md.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from kiosk.cli.common import Commands, fail
from kiosk.config import ConfigError, set_section
from kiosk.config import load as load_config
from kiosk.credentials import CredentialKind, hash_credential, secret_of, weakness


def _ask(prompt: str, *, secret: bool = True) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt) if secret else input(prompt)
    line = sys.stdin.readline()
    if not line:
        raise EOFError(prompt.strip())
    return line.rstrip("\n")


def _twice(prompt: str) -> str:
    first = _ask(f"{prompt}: ")
    if _ask(f"{prompt} again: ") != first:
        raise ValueError("the two entries differ: nothing was changed")
    return first


def cmd_set_credential(args: argparse.Namespace) -> int:
    path = Path(args.config)
    try:
        config = load_config(path)
        kind = CredentialKind(args.kind or config.staff.kind)
        if kind is CredentialKind.PASSPHRASE:
            given = {"passphrase": _twice("New staff passphrase")}
        else:
            card = _ask("Staff card number (scan it or type it): ", secret=False).strip()
            given = {"card": card, "pin": _twice("Staff PIN")}
        weak = weakness(kind, **given)
        if weak:
            return fail(f"error: {weak}: nothing was changed")
        set_section(
            path, "staff", {"kind": kind.value, "credential": hash_credential(secret_of(kind, **given))}
        )
    except (ConfigError, ValueError, EOFError) as error:
        return fail(f"error: {error}")
    print(f"{path}: the staff {kind.value.replace('_', ' + ')} is set (only its argon2id hash is stored)")
    return 0


def register(commands: Commands) -> None:
    staff = commands.add_parser("staff", help="the staff screen's credential")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    set_credential = staff_commands.add_parser(
        "set-credential", help="set the staff passphrase or card + PIN"
    )
    set_credential.add_argument("--config", required=True, help="the station's configuration file")
    set_credential.add_argument(
        "--kind", choices=[k.value for k in CredentialKind], help="default: [staff] kind"
    )
    set_credential.set_defaults(func=cmd_set_credential)


__all__ = ["cmd_set_credential", "register"]
