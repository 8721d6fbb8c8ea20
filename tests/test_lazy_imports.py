"""A SIP2-direct station starts without loading what only gateway mode needs (issue 15, cold start).

Importing the gateway client (httpx, and its command-line part: rich, click, pygments) and the wire models
(pydantic) cost a SIP2-direct station ~0.5 s before its window opened; python-escpos's printer database
(read with pure-Python YAML at import, to check `[printer]`) another 0.3-0.8 s. Each check runs in a fresh
interpreter (`python -c`), since this test process has long imported everything; no timing is asserted,
only what is loaded (docs/PERFORMANCE.md has the times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT

GATEWAY_ONLY = ("httpx", "pydantic", "server_api.gateway.wire", "server_api.client", "rich")

# What `kiosk run` on a SIP2-direct station imports before its window: the whole command line (every
# sub-command registers itself), the configuration, the station and its builder.
SIP2_DIRECT_START = "import kiosk.cli.main, kiosk.cli.build, kiosk.config, kiosk.station, kiosk.cli.run"


def _fresh(code: str, tmp_path: Path) -> object:
    """Run `code` in a new interpreter (from the repository) and return the JSON it prints last."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    env.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_sip2_direct_start_path_loads_no_gateway_client_and_no_wire_models(tmp_path: Path) -> None:
    code = f"import json, sys\n{SIP2_DIRECT_START}\nprint(json.dumps(sorted(sys.modules)))"
    loaded = set(_fresh(code, tmp_path))  # type: ignore[arg-type]
    assert "kiosk.station.station" in loaded and "server_api.sip2.circulation" in loaded  # it did import
    assert [name for name in GATEWAY_ONLY if name in loaded] == []


def test_a_sip2_direct_station_is_built_from_its_file_without_them(tmp_path: Path) -> None:
    code = f"""
import json, sys
from pathlib import Path
from tests.cli.station_files import station_file
{SIP2_DIRECT_START}
from kiosk.cli.build import build_station
from kiosk.config import check_for_run, load
config = load(station_file(Path({str(tmp_path)!r})))
check_for_run(config)
station = build_station(config)
station.journal.close()
print(json.dumps([type(station.circulation).__name__, sorted(sys.modules)]))
"""
    kind, loaded = _fresh(code, tmp_path)  # type: ignore[misc]
    assert kind == "Sip2Circulation"
    assert [name for name in GATEWAY_ONLY if name in loaded] == []
    assert "escpos" not in loaded and "yaml" not in loaded  # `[printer]` checked, a file printer opened


def test_a_gateway_station_still_gets_the_gateway_parts_when_it_asks(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("kgw1.x.y\n", encoding="utf-8")
    token.chmod(0o600)
    code = f"""
import json, sys
from pathlib import Path
import kiosk.station
from kiosk.cli.build import build_station
from kiosk.config import load
folder = Path({str(tmp_path)!r})
path = folder / "kiosk.toml"
path.write_text(
    f'[journal]\\npath = "{{folder}}/journal.sqlite3"\\n[printer]\\ndirectory = "{{folder}}/receipts"\\n'
    f'[gateway]\\nurl = "http://127.0.0.1:1"\\ntoken_file = "{token}"\\n', encoding="utf-8")
station = build_station(load(path))
station.journal.close()
lazy = [kiosk.station.CentralConfig.__name__, kiosk.station.follow_console.__name__]
try:
    kiosk.station.NoSuchThing
except AttributeError as error:
    lazy.append(str(error))
print(json.dumps([type(station.circulation).__name__, station.console is not None, lazy,
                  [name for name in {list(GATEWAY_ONLY)!r} if name in sys.modules]]))
"""
    kind, console, lazy, loaded = _fresh(code, tmp_path)  # type: ignore[misc]
    assert (kind, console) == ("GatewayLink", True)  # the gateway's link and the console's, as before
    assert lazy == [
        "CentralConfig",
        "follow_console",
        "module 'kiosk.station' has no attribute 'NoSuchThing'",
    ]
    assert "httpx" in loaded and "server_api.gateway.wire" in loaded


def test_the_printer_database_is_read_as_json_not_as_yaml_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Checking `[printer]` reads python-escpos's database as JSON and imports neither python-escpos nor
    PyYAML; printing then imports python-escpos, which takes our pickle instead of parsing YAML. Both
    readings are the same database, and no folder or variable of ours stays."""
    code = """
import json, os, sys
from drivers.printer import PrinterSettings
settings = PrinterSettings(profile="TM-T88V", code_pages=("CP865", "CP850"))  # checked against the database
checked = [name for name in ("escpos", "yaml") if name in sys.modules]
import yaml
parsed = []
real = yaml.safe_load
yaml.safe_load = lambda stream: parsed.append(1) or real(stream)
from drivers.printer.codepages import first_code_page_for
page = first_code_page_for("TM-T88V", ("CP865",), "Lånt til 13. desember")  # python-escpos's encoder
import escpos.capabilities
from drivers.printer.escpos_database import capabilities_file, database
with open(capabilities_file(), encoding="utf-8") as source:
    theirs = yaml.load(source, Loader=yaml.CSafeLoader)
same = escpos.capabilities.CAPABILITIES == theirs == database()
left = [name for name in os.listdir(os.environ["TMPDIR"]) if name.startswith("kiosk-escpos-")]
print(json.dumps([checked, page, len(parsed), same, left, "ESCPOS_CAPABILITIES_PICKLE_DIR" in os.environ]))
"""
    checked, page, parsed, same, left, variable = _fresh(code, tmp_path)  # type: ignore[misc]
    assert checked == []  # the check imported neither
    assert page == "CP865" and parsed == 0  # python-escpos printed from our pickle
    assert same is True
    assert (left, variable) == ([], False)
