"""`kiosk run` under systemd: READY, WATCHDOG from the event loop, STATUS, STOPPING, the run directory.

systemd's side is a real unix datagram socket the test binds (in the abstract namespace, as `@name`), the
station a real `kiosk run --headless` process against the demo ILS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from kiosk.service import Notifier, watchdog_interval
from server_api.demo_ils.server import DemoIls
from tests.paths import ROOT
from tests.service.systemd import FakeSystemd, station_config

# Runs the station with a SIGUSR1 handler that blocks the main thread (the event loop's) for 1.5 s: the
# stand-in for a hung loop. A pinger on another thread would go on pinging through it.
BLOCKING_MAIN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGUSR1, lambda *_: time.sleep(1.5))\n"
    "from kiosk.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


async def kiosk(*args: str) -> tuple[int, str]:
    """Another `kiosk` command beside the running station, as deploy/updates runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kiosk", *args, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode().strip()


async def test_the_station_says_ready_pings_from_its_loop_and_says_stopping(tmp_path: Path) -> None:
    systemd = FakeSystemd()
    run_dir = tmp_path / "run"
    async with DemoIls(db_path=tmp_path / "ils.sqlite3") as ils:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BLOCKING_MAIN, "run", "--config", str(station_config(tmp_path, ils.port)),
            "--headless",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": systemd.name,
                 "WATCHDOG_USEC": "200000", "KIOSK_RUN_DIR": str(run_dir)},
        )  # fmt: skip
        try:
            ready = await systemd.until("READY", 20)
            assert ready["READY"] == "1" and "serving patrons" in ready["STATUS"]
            state = json.loads((run_dir / "station-state.json").read_text())
            assert state["patron_session"] is False and state["idle"] is True and state["pid"] == process.pid
            assert state["reader_ok"] is True and state["printer"] == "ok" and state["online"] is True
            assert await kiosk("update-window", "--run-dir", str(run_dir)) == (
                0,
                "update window open: the station is idle: no patron session, nothing in flight",
            )
            await asyncio.sleep(1.0)
            systemd.drain()
            assert len(systemd.pings(time.monotonic() - 1.0)) >= 5  # every 0.1 s: half of WATCHDOG_USEC

            process.send_signal(signal.SIGUSR1)  # the loop hangs for 1.5 s
            blocked_at = time.monotonic()
            await asyncio.sleep(1.0)
            systemd.drain()
            assert systemd.pings(blocked_at + 0.1) == []  # a hung loop sends nothing: systemd would kill it
            await asyncio.sleep(1.5)
            systemd.drain()
            assert len(systemd.pings(blocked_at + 1.6)) >= 3  # and the pings come back with the loop

            for _ in range(100):  # not draining: a full socket queue must not block the station's loop
                if (run_dir / "healthy").exists():
                    break
                await asyncio.sleep(0.1)
            assert (run_dir / "healthy").exists(), sorted(os.listdir(run_dir))
            process.send_signal(signal.SIGTERM)
            stopping = await systemd.until("STOPPING", 30)  # bounded; a busy machine is slow to stop
            assert stopping["STOPPING"] == "1"
            async with asyncio.timeout(20):
                _out, err = await process.communicate()
            assert process.returncode == 0, err.decode()[-2000:]
            assert not (run_dir / "station-state.json").exists()  # a stopped station blocks no update
            assert (await kiosk("update-window", "--run-dir", str(run_dir)))[0] == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            systemd.socket.close()


def test_without_notify_socket_nothing_is_sent_and_without_watchdog_usec_no_pings() -> None:
    assert not Notifier.from_environment({}).enabled
    assert Notifier.from_environment({}).send(READY="1") is False
    assert watchdog_interval({}) is None and watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0


def test_a_path_socket_gets_the_message_and_a_missing_one_is_no_error(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    try:
        notifier = Notifier(str(path))
        assert notifier.send(READY="1", STATUS="serving patrons")
        assert receiver.recv(4096) == b"READY=1\nSTATUS=serving patrons"
        notifier.close()
    finally:
        receiver.close()
    path.unlink()
    assert Notifier(str(path)).send(WATCHDOG="1") is False  # systemd gone: logged once, the station goes on


def test_a_full_queue_drops_a_ping_but_ready_and_stopping_wait_for_room(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "notify"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    notifier = Notifier(str(path))
    try:
        while notifier.send(WATCHDOG="1"):  # a service manager too busy to read: the kernel's queue fills
            pass
        assert notifier.send(WATCHDOG="1") is False  # a ping is dropped: the next one comes soon
        sent: list[bool] = []
        stopping = threading.Thread(target=lambda: sent.append(notifier.send(reliably=True, STOPPING="1")))
        stopping.start()
        time.sleep(0.2)
        received = [receiver.recv(4096) for _ in range(3)]  # the manager reads again: room for one more
        stopping.join(5)
        assert sent == [True] and received == [b"WATCHDOG=1"] * 3
        receiver.setblocking(False)
        queued = []
        with contextlib.suppress(BlockingIOError):
            while True:
                queued.append(receiver.recv(4096))
        assert queued[-1] == b"STOPPING=1"  # not dropped
        assert notifier.send(WATCHDOG="1") is True  # and pings never block: back to non-blocking
    finally:
        notifier.close()
        receiver.close()
