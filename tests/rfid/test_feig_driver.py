"""The FEIG driver over a real pty to the simulator, including every fault mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    Reader,
    ReaderUnavailable,
    TagNotPresent,
    TagWriteError,
)
from drivers.rfid.feig import FeigFrameError, FeigReader, FeigRfError, FeigTimeout
from drivers.rfid.feig_protocol import ISO_READ_MULTIPLE, ISO_WRITE_AFI, ISO_WRITE_MULTIPLE
from drivers.rfid.feig_sim import Fault, SimulatedFeigReader
from drivers.rfid.sim import make_uid
from drivers.tags.iso28560_3 import DanishTag, decode, encode

BOOK = encode(DanishTag(1, 1, 1, "22000000012345", "NO", "2190000"))


@pytest.fixture
def sim() -> Iterator[SimulatedFeigReader]:
    with SimulatedFeigReader(max_tags_per_reply=3) as simulator:
        yield simulator


@pytest.fixture
async def reader(sim: SimulatedFeigReader) -> AsyncIterator[FeigReader]:
    driver = FeigReader(sim.path, timeout=0.5)
    yield driver
    await driver.close()


def test_driver_is_a_reader(sim: SimulatedFeigReader) -> None:
    assert isinstance(FeigReader(sim.path), Reader)


async def test_inventory_of_a_stack_uses_more_data_continuation(sim, reader) -> None:
    uids = [make_uid(n) for n in range(1, 11)]
    for uid in uids:
        sim.place(uid, BOOK)
    assert sorted(await reader.inventory()) == sorted(uids)
    # 10 tags, 3 per reply: one inventory and three "more" requests.
    assert sim.stats.by_command["B0/01"] == 4
    sim.clear()
    assert await reader.inventory() == []


async def test_read_write_blocks_and_afi(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK, AFI_IN_LIBRARY)
    memory = await reader.read(uid)
    assert memory.uid == uid and memory.afi == AFI_IN_LIBRARY and len(memory.data) == 112
    assert decode(memory.data).primary_item_id == "22000000012345"
    other = encode(DanishTag(1, 2, 2, "99", "NO", "2190000"))
    await reader.write_blocks(uid, 0, other)
    assert bytes(sim.tag(uid).memory[:32]) == other
    await reader.write_afi(uid, AFI_ON_LOAN)
    assert await reader.read_afi(uid) == AFI_ON_LOAN == sim.tag(uid).afi


async def test_long_writes_are_split_into_frames(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, b"")
    data = bytes(range(112))
    await reader.write_blocks(uid, 0, data)
    assert bytes(sim.tag(uid).memory) == data
    assert sim.stats.by_command["B0/24"] == 1  # 112 bytes fit one frame
    with pytest.raises(TagWriteError, match="28 blocks"):
        await reader.write_blocks(uid, 27, bytes(8))


async def test_reader_info_and_rf_reset(sim, reader) -> None:
    info = await reader.reader_info()
    assert info.firmware == "03.00.05"
    await reader.rf_reset()


async def test_reversed_block_configuration_is_undone_by_the_driver(tmp_path) -> None:
    with SimulatedFeigReader(reversed_blocks=True) as sim:
        uid = make_uid(1)
        sim.place(uid, BOOK)
        plain = FeigReader(sim.path)
        raw = (await plain.read(uid)).data
        assert raw[:4] == BOOK[:4][::-1]  # what a misconfigured host sees: the field's variant
        await plain.close()
        configured = FeigReader(sim.path, reversed_blocks=True)
        assert (await configured.read(uid)).data[:32] == BOOK
        await configured.write_blocks(uid, 0, BOOK[::-1][:32])
        assert bytes(sim.tag(uid).memory[:32]) == BOOK[::-1][:32]
        await configured.close()


# ------------------------------------------------------------------------------------ fault modes


async def test_no_transponder_on_an_addressed_command_means_the_tag_left(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    sim.inject(Fault.NO_TRANSPONDER, on=ISO_WRITE_AFI)
    with pytest.raises(TagNotPresent):
        await reader.write_afi(uid, AFI_ON_LOAN)
    with pytest.raises(TagNotPresent):
        await reader.read(make_uid(99))


async def test_rf_error_on_a_read_is_retried(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    sim.inject(Fault.RF_ERROR, times=2, on=ISO_READ_MULTIPLE)
    assert (await reader.read(uid)).data[:32] == BOOK  # retries = 2
    sim.inject(Fault.RF_ERROR, times=3, on=ISO_READ_MULTIPLE)
    with pytest.raises(FeigRfError, match="0x83"):
        await reader.read(uid)


async def test_rf_error_on_a_write_is_not_blindly_repeated(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    sim.inject(Fault.RF_ERROR, on=ISO_WRITE_AFI)
    with pytest.raises(TagWriteError, match="rf communication error"):
        await reader.write_afi(uid, AFI_ON_LOAN)
    assert sim.tag(uid).afi == AFI_IN_LIBRARY
    assert sim.stats.by_command["B0/27"] == 1


async def test_corrupt_reply_is_retried_then_reported(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    sim.inject(Fault.CORRUPT_FRAME)
    assert await reader.inventory() == [uid]
    sim.inject(Fault.CORRUPT_FRAME, times=3)
    with pytest.raises(FeigFrameError, match="CRC"):
        await reader.inventory()
    assert sim.pending_faults() == 0
    assert await reader.inventory() == [uid]  # and the line is usable again


async def test_tag_removed_mid_write(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    new = encode(DanishTag(1, 1, 1, "NEW", "NO", "2190000"))
    sim.inject(Fault.REMOVED_MID_WRITE, on=ISO_WRITE_MULTIPLE)
    with pytest.raises(TagNotPresent):
        await reader.write_blocks(uid, 0, new)
    assert await reader.inventory() == []
    assert uid not in sim.uids()


async def test_a_write_the_tag_did_not_store_shows_only_on_reading_back(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK, AFI_IN_LIBRARY)
    sim.inject(Fault.WRITE_LOST, on=ISO_WRITE_AFI)
    await reader.write_afi(uid, AFI_ON_LOAN)  # acknowledged ...
    assert await reader.read_afi(uid) == AFI_IN_LIBRARY  # ... but not stored


async def test_a_silent_reader_times_out(sim) -> None:
    driver = FeigReader(sim.path, address=0x01, timeout=0.2, retries=1)
    sim.address = 0x02  # the reader on the line has another bus address: it ignores us
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(FeigTimeout, match="no answer"):
        await driver.inventory()
    assert loop.time() - started < 2
    await driver.close()


async def test_unplugged_device_gives_reader_unavailable_and_reconnects(sim, reader) -> None:
    uid = make_uid(1)
    sim.place(uid, BOOK)
    assert await reader.inventory() == [uid]
    sim.unplug()
    with pytest.raises(ReaderUnavailable):
        await reader.inventory()
    with pytest.raises(ReaderUnavailable, match="cannot open"):
        await reader.inventory()  # the device path is gone
    sim.replug()
    assert await reader.inventory() == [uid]
    assert reader.port_opens == 2


async def test_closed_reader_refuses(sim) -> None:
    driver = FeigReader(sim.path)
    await driver.close()
    with pytest.raises(ReaderUnavailable, match="closed"):
        await driver.inventory()
