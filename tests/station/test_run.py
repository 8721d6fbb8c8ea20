"""`kiosk run`: a station from its configuration file, stopped the way systemd stops it (SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from server_api.demo_ils import data as demo_data
from server_api.demo_ils.server import DemoIls

ROOT = Path(__file__).resolve().parents[2]


async def test_sigterm_stops_the_station_cleanly_and_closes_its_journal(tmp_path: Path) -> None:
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        user, password = demo_data.KIOSK_LOGIN
        secret = tmp_path / "sip2-password"
        secret.write_text(password + "\n", encoding="utf-8")
        secret.chmod(0o600)
        journal = tmp_path / "journal.sqlite3"
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[sip2]\nport = {ils.port}\nuser = "{user}"\npassword_file = "{secret}"\n'
            f'location = "{demo_data.KIOSK_LIBRARY.number}"\n'
            f'[journal]\npath = "{journal}"\n[printer]\ndirectory = "{tmp_path / "receipts"}"\n'
            '[clock]\ntrust = "always"\n',
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kiosk", "run", "--config", str(config), "--headless",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        async with asyncio.timeout(20):
            while not journal.exists() and process.returncode is None:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # running: its start-up check has talked to the library system
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            _out, err = await process.communicate()
        assert process.returncode == 0, err.decode()[-2000:]  # it ran until told to stop, and stopped
        # Closed, not killed: SQLite folds the write-ahead log back and removes it on the last close.
        assert not Path(f"{journal}-wal").exists()
