"""The documentation is checked against the code, as sqlite-utils does: every key of the station file has
its row in docs/CONFIGURATION.md (and no row names a key the station does not have), and every command of
`kiosk` and `kiosk-gateway` is written out somewhere in the README or docs/."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from kiosk.cli.main import build_parser
from kiosk.config import StationConfig
from server_api.gateway.cli import parser as gateway_parser

ROOT = Path(__file__).resolve().parent.parent
NOT_KEYS = {"source", "libraries"}  # where the file came from; [libraries] takes any library code as key


def documented_keys(markdown: str) -> set[tuple[str, str]]:
    """(section, key) of every table row: a row naming `[section]` starts it, rows with an empty first
    cell go on with it, and the second cell's `backticked` names are its keys."""
    keys: set[tuple[str, str]] = set()
    section = ""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 2:
            section = ""
            continue
        if named := re.fullmatch(r"`\[([a-z0-9_]+)\]`", cells[0]):
            section = named[1]
        elif cells[0]:
            section = ""
        if section:
            keys |= {(section, key) for key in re.findall(r"`([a-z0-9_]+)`", cells[1])}
    return keys


def station_keys() -> set[tuple[str, str]]:
    keys = set()
    for section in dataclasses.fields(StationConfig):
        if section.name in NOT_KEYS:
            continue
        default = section.default_factory()  # type: ignore[misc]
        keys |= {(section.name, key.name) for key in dataclasses.fields(default)}
    return keys


def commands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [f"{prefix} {name}", *commands(sub, f"{prefix} {name}")]
    return found


def test_every_key_of_the_station_file_has_its_row_and_every_row_its_key() -> None:
    documented = documented_keys((ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8"))
    keys = station_keys()
    assert sorted(keys - documented) == [], "keys without a row in docs/CONFIGURATION.md"
    assert sorted(documented - keys) == [], "rows in docs/CONFIGURATION.md for keys the station does not have"


def test_every_command_is_written_out_in_the_docs() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    lines = [line for page in pages for line in page.read_text(encoding="utf-8").splitlines()]
    every = commands(build_parser(), "kiosk") + commands(gateway_parser(), "kiosk-gateway")
    assert len(every) > 20
    # Written out: the words in order on one line ("kiosk journal tasks --config F done 12" names "done").
    missing = [
        command
        for command in every
        if not any(
            re.search(r"\b" + r"\b.*\b".join(map(re.escape, command.split())) + r"\b", line) for line in lines
        )
    ]
    assert missing == []


def test_the_checker_sees_a_missing_row_and_a_stale_one() -> None:
    table = "| section | key | default | meaning |\n|---|---|---|---|\n| `[rfid]` | `reader`, `gone` | | |\n"
    documented = documented_keys(table)
    assert ("rfid", "reader") in documented and ("rfid", "gone") in documented
    assert ("rfid", "poll_interval") in station_keys() - documented
    assert ("rfid", "gone") in documented - station_keys()
