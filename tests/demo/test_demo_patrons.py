"""The demo's patrons: `kiosk demo` prints one of each kind with its PIN, and each has a card on the pad;
`-v` is ours for `kiosk run` and `kiosk demo` (Kivy is told to leave the arguments alone)."""

from __future__ import annotations

import logging
import os

import pytest

from kiosk.cli import build_parser, main
from kiosk.demo import demo_patrons, make_tags, patron_lines
from server_api.demo_ils import data


def test_the_demo_patrons_are_a_normal_one_a_blocked_card_fees_a_child_and_a_sami_speaker():
    patrons = {p.kind: p for p in demo_patrons()}
    assert list(patrons) == ["normal", "blocked card", "fees owed", "child", "Sámi speaker"]
    records = {p.card: p for p in data.PATRONS}
    assert records[patrons["blocked card"].card].blocked
    assert float(records[patrons["fees owed"].card].fees) > data.FEE_LIMIT
    assert records[patrons["child"].card].category == "child"
    _items, cards = make_tags()
    assert all(p.card in cards for p in patrons.values())  # the panel can place each card


def test_kiosk_demo_prints_every_demo_patron_with_the_pin():
    lines = "\n".join(patron_lines())
    for patron in demo_patrons():
        assert patron.card in lines and f"PIN {patron.pin}" in lines


@pytest.mark.parametrize("argv", [["-v", "demo", "--headless"], ["demo", "-v", "--headless"]])
def test_verbose_is_ours_before_or_after_the_command(argv: list[str]):
    assert build_parser().parse_args(argv).verbose is True
    assert build_parser().parse_args(["demo", "--headless"]).verbose is False


def test_kivy_is_told_not_to_parse_the_arguments_and_to_log_through_ours(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("KIVY_NO_ARGS", raising=False)
    monkeypatch.delenv("KIVY_LOG_MODE", raising=False)
    assert main(["demo", "--headless"]) == 2  # no scenario: refused before anything starts
    assert os.environ["KIVY_NO_ARGS"] == "1" and os.environ["KIVY_LOG_MODE"] == "PYTHON"
    # INFO by default, without a line per HTTP request or migration step (those come with -v)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


def test_the_demo_leaves_nothing_behind_in_the_temporary_folder(tmp_path):
    """Its own folder (journal, library system, receipts, the printer's line) goes when it ends, and a
    station killed mid-run leaves nothing outside it."""
    import subprocess
    import sys

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "kiosk", "demo", "--headless", "--scenario", "borrow-return", "--sip2-direct"],
        env={**os.environ, "TMPDIR": str(temporary)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(temporary.iterdir()) == [], list(temporary.iterdir())
    assert "removed" in done.stderr and "--workdir" in done.stderr
