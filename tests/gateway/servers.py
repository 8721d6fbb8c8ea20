"""Real servers for the gateway tests and the bench: the demo ILS on TCP (in a thread with its own event
loop), the gateway under uvicorn in a subprocess (`kiosk-gateway serve`), a throw-away PostgreSQL cluster
run by an unprivileged user. All on 127.0.0.1, all with bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server_api.demo_ils import DemoIls
from server_api.faulty_link import FaultPlan, FaultyLink
from server_api.gateway.config import load
from server_api.gateway.demo import write_demo_config
from server_api.gateway.devices import create_enrollment_code
from server_api.gateway.storage import migrate, open_engine

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThreadedIls:
    """The demo ILS (and optionally a FaultyLink in front of it) on its own loop in a thread."""

    def __init__(self, db_path: Path, *, delay: float = 0.0) -> None:
        self.db_path = db_path
        self.delay = delay
        self.port = 0
        self.link: FaultyLink | None = None
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-ils", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with DemoIls(self.db_path) as ils:
            self.port = ils.port
            if self.delay:
                plan = FaultPlan(delay_reply=1.0, delay_seconds=self.delay)
                async with FaultyLink("127.0.0.1", ils.port, plan=plan) as link:
                    self.link, self.port = link, link.port
                    self._ready.set()
                    await self._stop.wait()
            else:
                self._ready.set()
                await self._stop.wait()

    def set_cut(self, cut: bool) -> None:
        assert self.link is not None
        self._loop.call_soon_threadsafe(self.link.set_cut, cut)

    def __enter__(self) -> ThreadedIls:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the demo ILS did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@dataclass
class GatewayProcess:
    """`kiosk-gateway serve` in a subprocess on a free loopback port."""

    config_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    log_level: str = "warning"

    @property
    def url(self) -> str:
        config = load(self.config_path)
        scheme = "https" if config.gateway.tls_cert_file else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0, verify: object = True) -> GatewayProcess:
        self.log_path = self.config_path.parent / f"gateway-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server_api.gateway", "--config", str(self.config_path), "serve",
             "--port", str(self.port), "--log-level", self.log_level],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited ({self.process.returncode}): {self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1, verify=verify).status_code == 200:  # type: ignore[arg-type]
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the gateway did not answer within {timeout} s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: a crash, nothing cleaned up."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def make_gateway_config(folder: Path, ils_port: int, database: str, **kw: object) -> Path:
    """A demo configuration with its database migrated."""
    path = write_demo_config(folder, ils_port=ils_port, database=database, **kw)  # type: ignore[arg-type]
    migrate(open_engine(load(path).database_url()))
    return path


def enrollment_code(config_path: Path, library: str, kiosk: str) -> str:
    config = load(config_path)
    engine = open_engine(config.database_url())
    try:
        code, _ = create_enrollment_code(engine, library, kiosk, hours=1, actor="test")
    finally:
        engine.dispose()
    return code


def enroll(url: str, config_path: Path, library: str, kiosk: str, verify: object = True) -> str:
    code = enrollment_code(config_path, library, kiosk)
    answer = httpx.post(f"{url}/v1/enroll", json={"code": code}, timeout=10, verify=verify)  # type: ignore[arg-type]
    answer.raise_for_status()
    token: str = answer.json()["token"]
    return token


class PostgresCluster:
    """A throw-away PostgreSQL cluster in a temp dir on a loopback port, run as user `nobody` (we are root;
    PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
        self.data = self.dir / "data"
        self.user = "nobody" if os.geteuid() == 0 else ""

    @staticmethod
    def bin_dir() -> Path | None:
        versions = sorted(PG_BIN.glob("*/bin/initdb"), reverse=True)
        return versions[0].parent if versions else None

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*(["runuser", "-u", self.user, "--"] if self.user else []), *args]
        subprocess.run(command, check=True, timeout=timeout, capture_output=True, cwd=self.dir)

    def start(self) -> PostgresCluster:
        bin_dir = self.bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (see the Makefile)")
        os.chmod(self.dir, 0o755)
        if self.user:
            shutil.chown(self.dir, self.user)
        self._run(
            str(bin_dir / "initdb"), "-D", str(self.data), "-U", "gateway", "--auth=trust", "-E", "UTF8"
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=on -c max_connections=200"
        )
        self._run(str(bin_dir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.dir / "pg.log"), "start")  # fmt: skip
        return self

    def create_database(self, name: str) -> str:
        bin_dir = self.bin_dir()
        assert bin_dir is not None
        self._run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "gateway", name)
        return f"postgresql+psycopg://gateway@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        bin_dir = self.bin_dir()
        if bin_dir is not None and self.data.exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self._run(str(bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()
