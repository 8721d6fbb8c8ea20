import asyncio

import pytest

from drivers.rfid.base import (
    AFI_IN_LIBRARY,
    AFI_ON_LOAN,
    Reader,
    ReaderError,
    ReaderUnavailable,
    TagMemory,
    TagNotPresent,
    TagWriteError,
)
from drivers.rfid.sim import BLOCK_SIZE, SimulatedPad, make_uid
from drivers.tags.iso28560_3 import DanishTag, decode, encode

BOOK = encode(DanishTag(1, 1, 1, "03010012345678", "NO", "2030000"))


def test_make_uid_is_deterministic_msb_first() -> None:
    assert make_uid(1) == bytes.fromhex("E004010000000001")
    assert make_uid(0x0102030405) == bytes.fromhex("E004010102030405")
    assert len({make_uid(n) for n in range(100)}) == 100


@pytest.mark.parametrize("n", [-1, 1 << 40])
def test_make_uid_range(n: int) -> None:
    with pytest.raises(ValueError, match="UID number"):
        make_uid(n)


def test_pad_satisfies_reader_protocol() -> None:
    pad: Reader = SimulatedPad()
    assert isinstance(pad, Reader)


async def test_inventory_follows_place_and_remove() -> None:
    pad = SimulatedPad()
    assert await pad.inventory() == []
    pad.place(make_uid(1), BOOK)
    pad.place(make_uid(2), BOOK)
    assert await pad.inventory() == [make_uid(1), make_uid(2)]
    pad.remove(make_uid(1))
    assert await pad.inventory() == [make_uid(2)]
    pad.clear()
    assert await pad.inventory() == []


async def test_read_returns_memory_padded_to_blocks_and_decodes() -> None:
    pad = SimulatedPad(memory_blocks=28)
    pad.place(make_uid(1), BOOK, AFI_ON_LOAN)
    memory = await pad.read(make_uid(1))
    assert memory == TagMemory(make_uid(1), BOOK + bytes(112 - 32), AFI_ON_LOAN)
    assert decode(memory.data).primary_item_id == "03010012345678"


async def test_write_blocks_changes_only_those_blocks() -> None:
    pad = SimulatedPad()
    uid = make_uid(7)
    pad.place(uid, bytes(range(32)))
    await pad.write_blocks(uid, 2, b"ABCDEFGH")
    data = (await pad.read(uid)).data
    assert data[:8] == bytes(range(8))
    assert data[8:16] == b"ABCDEFGH"
    assert data[16:32] == bytes(range(16, 32))


async def test_write_beyond_memory_raises_and_writes_nothing() -> None:
    pad = SimulatedPad()
    uid = make_uid(1)
    pad.place(uid, BOOK, memory_blocks=8)
    with pytest.raises(TagWriteError, match="beyond the tag's 8 blocks"):
        await pad.write_blocks(uid, 7, bytes(2 * BLOCK_SIZE))
    assert (await pad.read(uid)).data == BOOK


async def test_write_must_be_whole_blocks() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), BOOK)
    with pytest.raises(ValueError, match="whole number"):
        await pad.write_blocks(make_uid(1), 0, b"abc")


def test_place_refuses_data_larger_than_memory_and_bad_uids() -> None:
    pad = SimulatedPad()
    with pytest.raises(ValueError, match="do not fit"):
        pad.place(make_uid(1), bytes(9), memory_blocks=2)
    with pytest.raises(ValueError, match="8 bytes"):
        pad.place(b"\xe0\x04", BOOK)
    with pytest.raises(ValueError, match="AFI"):
        pad.place(make_uid(1), BOOK, afi=256)


async def test_afi_is_per_tag() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), BOOK, AFI_IN_LIBRARY)
    pad.place(make_uid(2), BOOK, AFI_IN_LIBRARY)
    await pad.write_afi(make_uid(1), AFI_ON_LOAN)
    assert await pad.read_afi(make_uid(1)) == AFI_ON_LOAN
    assert await pad.read_afi(make_uid(2)) == AFI_IN_LIBRARY
    assert {t.uid: t.afi for t in pad.tags()} == {make_uid(1): AFI_ON_LOAN, make_uid(2): AFI_IN_LIBRARY}


async def test_operations_on_a_lifted_tag_raise_tag_not_present() -> None:
    pad = SimulatedPad()
    uid = make_uid(3)
    pad.place(uid, BOOK)
    pad.remove(uid)
    for operation in (
        pad.read(uid),
        pad.read_afi(uid),
        pad.write_afi(uid, AFI_ON_LOAN),
        pad.write_blocks(uid, 0, bytes(4)),
    ):
        with pytest.raises(TagNotPresent) as caught:
            await operation
        assert caught.value.uid == uid
        assert "E004010000000003" in str(caught.value)


async def test_injected_afi_write_failures_then_success() -> None:
    pad = SimulatedPad()
    uid = make_uid(1)
    pad.place(uid, BOOK, AFI_IN_LIBRARY)
    pad.fail_next_afi_writes(uid, 2)
    for _ in range(2):
        with pytest.raises(TagWriteError, match="AFI"):
            await pad.write_afi(uid, AFI_ON_LOAN)
        assert await pad.read_afi(uid) == AFI_IN_LIBRARY
    await pad.write_afi(uid, AFI_ON_LOAN)
    assert await pad.read_afi(uid) == AFI_ON_LOAN


async def test_unplugged_reader_is_unavailable_until_replugged() -> None:
    pad = SimulatedPad()
    pad.place(make_uid(1), BOOK)
    pad.unplug()
    with pytest.raises(ReaderUnavailable, match="unplugged"):
        await pad.inventory()
    with pytest.raises(ReaderUnavailable):
        await pad.read(make_uid(1))
    pad.replug()
    assert await pad.inventory() == [make_uid(1)]


async def test_closed_reader_is_unavailable() -> None:
    pad = SimulatedPad()
    await pad.close()
    with pytest.raises(ReaderUnavailable, match="closed"):
        await pad.inventory()


def test_errors_share_a_base_class() -> None:
    for error in (TagNotPresent, TagWriteError, ReaderUnavailable):
        assert issubclass(error, ReaderError)


async def test_tag_lifted_during_a_slow_read() -> None:
    pad = SimulatedPad(operation_delay=0.05)
    uid = make_uid(1)
    pad.place(uid, BOOK)
    read = asyncio.create_task(pad.read(uid))
    await asyncio.sleep(0.01)
    pad.remove(uid)
    with pytest.raises(TagNotPresent):
        await read


async def test_wait_changed_wakes_on_placement() -> None:
    pad = SimulatedPad()
    waiter = asyncio.create_task(pad.wait_changed(timeout=1))
    await asyncio.sleep(0)
    assert not waiter.done()
    pad.place(make_uid(1), BOOK)
    assert await waiter is True


async def test_wait_changed_times_out_without_change() -> None:
    pad = SimulatedPad()
    assert await pad.wait_changed(timeout=0.01) is False


async def test_wait_changed_since_does_not_miss_an_earlier_change() -> None:
    pad = SimulatedPad()
    seen = pad.change_count
    pad.place(make_uid(1), BOOK)
    assert await pad.wait_changed(since=seen, timeout=0.01) is True


def test_clearing_an_empty_pad_is_not_a_change() -> None:
    pad = SimulatedPad()
    pad.clear()
    assert pad.change_count == 0


def test_removing_an_absent_tag_is_a_test_error() -> None:
    with pytest.raises(KeyError, match="not on the pad"):
        SimulatedPad().remove(make_uid(9))
