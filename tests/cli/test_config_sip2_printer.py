"""The [sip2] keys of issue 10 (no-block due date, fallback charset, pool floor and retry) and [printer] as
the ESC/POS driver's settings (issue 16): each reaches what it configures, and a wrong value is refused
naming file, key and fix, by `kiosk config check` too. [libraries] names a library once, however written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drivers.printer import Connection
from drivers.printer.escpos import EscposPrinter
from drivers.printer.file_printer import FilePrinter
from kiosk.cli import main, open_configured_printer
from kiosk.config import load
from tests.cli.station_files import refusal, station_file


def test_the_new_sip2_keys_reach_the_connection(tmp_path: Path) -> None:
    path = station_file(
        tmp_path,
        '[sip2]\nnb_due_date = "transaction"\nfallback_charset = "cp850"\npool_size = 3\n'
        "pool_min_size = 2\npool_retry_interval = 5\n",
    )
    settings = load(path).sip2_settings()
    assert (settings.nb_due_date, settings.online_nb_due_date) == ("transaction", "transaction")
    assert settings.fallback_charset == "cp850"
    assert (settings.pool_min_size, settings.pool_size, settings.pool_retry_interval) == (2, 3, 5.0)


def test_left_out_the_profile_decides_and_none_means_replacement_marks_only(tmp_path: Path) -> None:
    defaults = load(station_file(tmp_path, '[sip2]\nprofile = "koha"\n')).sip2_settings()
    assert defaults.online_nb_due_date == "blank" and defaults.fallback_charset == "iso-8859-1"
    none = load(station_file(tmp_path, '[sip2]\nfallback_charset = "none"\n')).sip2_settings()
    assert none.fallback_charset == ""


BAD = [
    (
        '[sip2]\nnb_due_date = "sometimes"',
        r"\[sip2\] nb_due_date: 'sometimes' is not one of , blank, transaction",
    ),
    (
        '[sip2]\nfallback_charset = "klingon"',
        r"\[sip2\] fallback_charset: 'klingon' is not a known character",
    ),
    ("[sip2]\npool_min_size = 3", r"\[sip2\] pool_min_size \(3\) is more than pool_size \(2\)"),
    ("[sip2]\npool_retry_interval = 0", r"\[sip2\] pool_retry_interval: 0 is out of range: .* 1 to 3600"),
    ("[sip2]\npool_retry_interval = inf", r"\[sip2\] pool_retry_interval: inf is not a finite number"),
    ('[printer]\nconnection = "parallel"', r"\[printer\] connection: 'parallel' is not one of file, usb"),
    ('[printer]\nconnection = "serial"', r"\[printer\] printer connection serial needs device"),
    ('[printer]\nconnection = "network"', r"\[printer\] printer connection network needs host"),
    ('[printer]\ncode_pages = "CP865"', r"\[printer\] code_pages: expected a list in brackets"),
    ('[printer]\ncode_pages = ["CP999"]', r"\[printer\] printer profile TM-T88V has no code page CP999"),
    ('[printer]\nprofile = "TM-NOPE"', r"\[printer\] unknown printer profile 'TM-NOPE'"),
    ("[printer]\ndots_per_line = 600", r"\[printer\] dots_per_line: 600 is not one of 384, 512, 576"),
    ("[printer]\ntimeout = 0", r"\[printer\] timeout: 0 is out of range: use a number from 0.1 to 60"),
    ('[printer]\nkind = "usb"', r"\[printer\] kind: 'usb' is not one of file"),
    (
        '[libraries]\n1902000 = "Harstad"\n01902000 = "Harstad bibliotek"',
        r"\[libraries\] 1902000 and 01902000 are",
    ),
]


@pytest.mark.parametrize(("lines", "words"), BAD, ids=[lines.split("\n")[1] for lines, _ in BAD])
def test_a_wrong_value_is_refused_naming_the_key_and_the_fix(tmp_path: Path, lines: str, words: str) -> None:
    said = refusal(station_file(tmp_path, lines + "\n"))
    assert re.search(r"kiosk\.toml: " + words, said), said


def test_kiosk_config_check_refuses_a_printer_the_driver_would_refuse(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = station_file(tmp_path, '[printer]\nconnection = "usb"\n')
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "[printer] printer connection usb needs usb_vendor_id" in err


def test_the_station_opens_the_printer_printer_describes(tmp_path: Path) -> None:
    serial = load(
        station_file(
            tmp_path,
            '[printer]\nconnection = "serial"\ndevice = "/dev/serial/by-id/usb-printer"\nbaudrate = 115200\n'
            'profile = "TM-T20II"\ncode_pages = ["CP865", "CP1252"]\ndots_per_line = 576\n'
            'flow_control = "none"\n',
        )
    )
    settings = serial.printer.settings()
    assert (settings.connection, settings.baudrate, settings.code_pages) == (
        Connection.SERIAL,
        115200,
        ("CP865", "CP1252"),
    )
    assert isinstance(open_configured_printer(serial), EscposPrinter)  # reached at its first status poll
    usb = load(
        station_file(
            tmp_path, '[printer]\nconnection = "usb"\nusb_vendor_id = 0x04b8\nusb_product_id = 0x0202\n'
        )
    )
    assert (usb.printer.settings().usb_vendor_id, usb.printer.settings().usb_product_id) == (0x04B8, 0x0202)


def test_an_older_file_with_kind_file_still_prints_to_files(tmp_path: Path) -> None:
    config = load(station_file(tmp_path, '[printer]\nkind = "file"\n'))
    assert config.printer.settings().connection is Connection.FILE
    assert isinstance(open_configured_printer(config), FilePrinter)
    assert refusal(station_file(tmp_path, '[printer]\nkind = "file"\n')) == ""
