"""The `kiosk` command as a whole: one module per sub-command, and the product's commands run without the
demo (finding: `kiosk journal show` used to import the demo library system's data)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.cli import SUB_COMMANDS, build_parser, main
from tests.paths import ROOT


def test_every_sub_command_registers_itself_from_its_own_module(capsys: pytest.CaptureFixture[str]) -> None:
    modules = {register.__module__ for register in SUB_COMMANDS}
    assert len(modules) == len(SUB_COMMANDS)  # one module each
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    for name in ("demo", "demo-ils", "run", "config", "tag", "sip2", "journal"):
        assert f"    {name}" in shown, name


def test_a_sub_command_without_its_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(["journal", "show"])
    assert done.value.code == 2
    assert "the following arguments are required: id" in capsys.readouterr().err


PRODUCT_ONLY = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from pathlib import Path

    from kiosk.cli import main
    from kiosk.core import Operation
    from kiosk.journal import Journal
    from server_api.circulation import Transaction

    path = Path(sys.argv[1])
    journal = Journal(path)
    entry = journal.record(Transaction.new(datetime(2026, 3, 2, 10, 15)), Operation.CHECKIN, "item-1")
    journal.close()
    for argv in (["journal", "show", entry.id.hex[:8]], ["journal", "conflicts"], ["journal", "list"]):
        assert main([*argv, "--journal", str(path)]) == 0, argv
    main(["config", "check", sys.argv[2]])
    unwanted = ("kiosk.demo", "server_api.demo_ils", "kivy", "ui")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in unwanted or m.startswith(unwanted[:2]))
    print("LOADED", loaded)
    """
)


def test_the_product_commands_run_without_importing_the_demo_or_the_ui(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[station]\nname = "Test"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PRODUCT_ONLY, str(tmp_path / "journal.sqlite3"), str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"took effect: +not known yet", done.stdout)  # show still says, without the demo
    assert "LOADED []" in done.stdout
