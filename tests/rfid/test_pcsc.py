"""The PC/SC driver through the real pcscd, with vsmartcard's vpcd reader and a virtual ISO 15693 tag.

The fixture starts its own pcscd in the foreground with a reader configuration for vpcd on a free port, and
the virtual tag connects to vpcd on loopback. It skips only where pcscd or vpcd is not installed or another
pcscd already owns the socket (`make test` installs both: APT_PACKAGES in the Makefile).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

pytest.importorskip("smartcard", reason="pyscard is not installed (pip install -e '.[dev]')")

from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN, TagNotPresent, TagWriteError
from drivers.rfid.pcsc import AfiNotSupported, PcscReader
from drivers.rfid.vicc15693 import VirtualCardClient, VirtualTag
from drivers.tags.iso28560_3 import DanishTag, decode, encode

# pcscd has one socket per machine (/run/pcscd/pcscd.comm), so these tests must never run at once: with
# pytest-xdist a file's tests stay on one worker (`--dist loadfile` in the Makefile), and no other file
# starts a pcscd. (`--dist loadgroup` with xdist_group marks does not group under pytest 9.2:
# pytest-dev/pytest-xdist#1386, seen here with pytest-xdist 3.8.)

VPCD = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
SOCKET = Path("/run/pcscd/pcscd.comm")
UID = bytes.fromhex("E004015012345678")
CARD = encode(DanishTag(8, 1, 1, "219000000001", "NO", "2190000"))


def _free_port_pair() -> int:
    """A port P with P + 1 free too (vpcd's two slots), below the kernel's ephemeral range, so that no
    outgoing connection of another test process can be given P as its own port meanwhile."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.Random().sample(range(20000, max(20010, low - 2)), 50):
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("0.0.0.0", port))
                second.bind(("0.0.0.0", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports for vpcd")


def _listening(port: int) -> bool:
    """Whether something listens on `port`, read from /proc (a connection would be taken for a card)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":  # 0A: LISTEN
                    return True
    return False


class _Card(VirtualCardClient):
    """The virtual tag's client; a card vpcd refuses fails with pcscd's log and whether vpcd listens."""

    def __init__(self, port: int, log: Path) -> None:
        super().__init__(port)
        self.log = log

    def insert(self, tag: VirtualTag, timeout: float = 10.0) -> None:
        try:
            super().insert(tag, timeout)
        except ConnectionRefusedError as error:
            raise AssertionError(
                f"vpcd refused the card on port {self.port} for {timeout:g}s (listening: "
                f"{_listening(self.port)}); pcscd's log:\n{self.log.read_text(errors='replace')[-3000:]}"
            ) from error


def _other_pcscd_running() -> bool:
    pid_file = Path("/run/pcscd/pcscd.pid")
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text().strip()), 0)
        return True
    return False


def _virtual_reader_listed() -> bool:
    """pcscd lists a vpcd slot only after vpcd has bound its port, so no connection is needed to know it is
    ready. A probe connection would be taken for a card: vpcd accepts one connection per poll (listen backlog
    0), and while the probe waits in its queue every real card is refused. Slot 00 00 is the one on `port`
    (00 01 is on port + 1); the driver takes the first slot it finds, which is this one."""
    from smartcard.System import readers

    with contextlib.suppress(Exception):  # pcscd's socket not there yet, or no readers
        return any(str(name).startswith("Virtual PCD 00 00") for name in readers())
    return False


@pytest.fixture
def vpcd(tmp_path_factory) -> Iterator[tuple[int, Path]]:
    # One pcscd per test: after a virtual card disconnects, vpcd does not always take a new one in the same
    # pcscd run (seen with vsmartcard 3.3 / pcsc-lite 1.9.9), and a fresh daemon keeps the tests independent.
    pcscd = shutil.which("pcscd") or ("/usr/sbin/pcscd" if Path("/usr/sbin/pcscd").exists() else None)
    if pcscd is None or not VPCD.exists():
        pytest.skip("pcscd and vsmartcard-vpcd are not installed (make test installs them)")
    if _other_pcscd_running():
        pytest.skip("another pcscd owns /run/pcscd/pcscd.comm; this test needs its own with the vpcd reader")
    port = _free_port_pair()
    conf = tmp_path_factory.mktemp("reader.conf.d")
    (conf / "vpcd").write_text(
        f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{port:04X}\n'
        f"LIBPATH {VPCD}\nCHANNELID 0x{port:04X}\n"
    )
    # Not in the configuration directory: pcscd parses every file there and exits on one it cannot read.
    log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [pcscd, "--foreground", "--debug", "--config", str(conf)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while not (_virtual_reader_listed() and _listening(port)):
            if process.poll() is not None:
                pytest.fail(f"pcscd exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"pcscd never listed the vpcd reader: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def vpcd_port(vpcd: tuple[int, Path]) -> int:
    return vpcd[0]


@pytest.fixture
def card(vpcd: tuple[int, Path]) -> Iterator[VirtualCardClient]:
    client = _Card(*vpcd)
    yield client
    client.remove()


@pytest.fixture
async def reader(vpcd_port: int) -> AsyncIterator[PcscReader]:
    driver = PcscReader("Virtual PCD", model="virtual-15693")
    yield driver
    await driver.close()


async def _wait_inventory(reader: PcscReader, expected: list[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await reader.inventory() == expected:
            return
        await reader.wait_for_change(0.5)
    raise AssertionError(f"inventory never became {expected}")


async def test_presence_uid_read_write_and_afi(card, reader) -> None:
    await _wait_inventory(reader, [])
    tag = VirtualTag(UID, CARD, afi=AFI_IN_LIBRARY)
    card.insert(tag)
    await _wait_inventory(reader, [UID])  # the UID comes LSB first from the reader, MSB first from us
    memory = await reader.read(UID)
    assert memory.afi == AFI_IN_LIBRARY and len(memory.data) == 112
    assert decode(memory.data).primary_item_id == "219000000001"
    new = encode(DanishTag(1, 1, 1, "22000000012345", "NO", "2190000"))
    await reader.write_blocks(UID, 0, new)
    assert bytes(tag.memory[:32]) == new
    await reader.write_afi(UID, AFI_ON_LOAN)
    assert await reader.read_afi(UID) == AFI_ON_LOAN == tag.afi


async def test_removal_is_seen_and_a_missing_tag_is_reported(card, reader) -> None:
    card.insert(VirtualTag(UID, CARD))
    await _wait_inventory(reader, [UID])
    card.remove()
    assert await reader.wait_for_change(10.0, known=[UID]) is True
    await _wait_inventory(reader, [])
    with pytest.raises(TagNotPresent):
        await reader.read(UID)


async def test_a_refused_afi_write_is_a_tag_write_error(card, reader) -> None:
    tag = VirtualTag(UID, CARD)
    tag.afi_writable = False
    card.insert(tag)
    await _wait_inventory(reader, [UID])
    with pytest.raises(TagWriteError, match="6581"):
        await reader.write_afi(UID, AFI_ON_LOAN)
    assert tag.afi == AFI_IN_LIBRARY


async def test_a_model_without_afi_commands_says_so(card, vpcd_port) -> None:
    card.insert(VirtualTag(UID, CARD))
    generic = PcscReader("Virtual PCD", model="generic")
    try:
        await _wait_inventory(generic, [UID])
        assert decode((await generic.read(UID)).data).primary_item_id == "219000000001"
        with pytest.raises(AfiNotSupported, match="generic"):
            await generic.write_afi(UID, AFI_ON_LOAN)
    finally:
        await generic.close()
