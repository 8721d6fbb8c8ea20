"""Security writes first, and grouped per reader round with the FEIG command queue (issue 17, point 3).

The real driver over a pty to the simulator; the command queue's codec on its own."""

from __future__ import annotations

import asyncio

import pytest

from drivers.rfid import feig_protocol as fp
from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN
from drivers.rfid.feig import FeigFrameError, FeigReader
from drivers.rfid.feig_sim import AirTiming, Fault, SimulatedFeigReader
from drivers.rfid.line import POLL, READ, SECURITY, Line
from drivers.rfid.sim import make_uid

UIDS = [make_uid(200 + n) for n in range(20)]


def test_a_command_queue_carries_the_commands_it_was_given_and_their_answers_in_order() -> None:
    asked = [fp.write_afi(UIDS[0], AFI_ON_LOAN), fp.system_information(UIDS[1])]
    frame = fp.command_queue(asked)
    assert frame.command == fp.CMD_COMMAND_QUEUE
    decoder = fp.FrameDecoder(fp.Role.READER)
    decoder.receive_data(fp.encode_request(frame))
    received = decoder.next_event()
    assert isinstance(received, fp.Request)
    assert fp.parse_queue_request(received) == asked
    answers = [fp.Reply(0xFF, fp.CMD_ISO_HOST, fp.Status.OK), fp.Reply(0xFF, fp.CMD_ISO_HOST, 0x01)]
    reply = fp.Reply(0xFF, fp.CMD_COMMAND_QUEUE, fp.Status.OK, fp.encode_queue_reply(answers))
    assert fp.parse_queue_reply(reply, 2) == answers
    with pytest.raises(fp.ProtocolError, match="answers 2 commands, 3 were asked"):
        fp.parse_queue_reply(reply, 3)


def test_a_command_queue_holds_twenty_afi_writes_or_sixteen_read_backs_and_only_those() -> None:
    writes = [fp.write_afi(uid, AFI_ON_LOAN) for uid in UIDS]
    reads = [fp.system_information(uid) for uid in UIDS]
    assert fp.queue_fits(writes) and not fp.queue_fits([*writes, writes[0]])
    assert fp.queue_fits(reads[:16]) and not fp.queue_fits(reads[:17])  # the reply would not fit
    assert not fp.queue_fits([fp.read_multiple(UIDS[0], 0, 4)])  # its reply size is not known
    with pytest.raises(fp.ProtocolError):
        fp.command_queue([*writes, writes[0]])


async def test_reading_a_new_stack_goes_first_then_security_then_the_polls_in_their_order() -> None:
    line, order = Line(), []

    async def take(name: str, priority: int) -> None:
        async with line.hold(priority):
            order.append(name)

    async with line.hold():
        waiting = [
            asyncio.create_task(take("poll 1", POLL)),
            asyncio.create_task(take("poll 2", POLL)),
            asyncio.create_task(take("write", SECURITY)),
            asyncio.create_task(take("read", READ)),
        ]
        await asyncio.sleep(0)
        assert line.waiting == 4
    await asyncio.gather(*waiting)
    assert order == ["read", "write", "poll 1", "poll 2"]


async def test_a_waiter_cancelled_after_it_was_handed_the_line_passes_it_on() -> None:
    line, order = Line(), []
    async with line.hold():
        first = asyncio.create_task(line.hold(SECURITY).__aenter__())
        second = asyncio.create_task(_note(line, order))
        await asyncio.sleep(0)
    first.cancel()  # handed the line as the holder left, cancelled before it ran
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 2)
    assert order == ["second"]


async def _note(line: Line, order: list[str]) -> None:
    async with line.hold(POLL):
        order.append("second")


async def _secure_all(reader: FeigReader, uids: list[bytes], afi: int) -> list[int]:
    async def secure(uid: bytes) -> int:
        await reader.write_afi(uid, afi)
        return await reader.read_afi(uid)

    return list(await asyncio.gather(*(secure(uid) for uid in uids)))


async def test_twenty_security_writes_with_read_backs_go_in_a_handful_of_exchanges() -> None:
    with SimulatedFeigReader() as sim:
        for uid in UIDS:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        reader = FeigReader(sim.path)
        try:
            assert await _secure_all(reader, UIDS, AFI_ON_LOAN) == [AFI_ON_LOAN] * 20
            assert reader.command_queue is True
            assert reader.exchanges <= 4  # one-by-one: 40
            assert all(sim.tag(uid).afi == AFI_ON_LOAN for uid in UIDS)
            assert sim.stats.by_command["B0/27"] == 20 and sim.stats.by_command["B0/2B"] == 20
        finally:
            await reader.close()


async def test_a_reader_without_the_command_queue_gets_one_frame_per_command_and_it_is_remembered() -> None:
    with SimulatedFeigReader(command_queue=False) as sim:
        for uid in UIDS[:5]:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        reader = FeigReader(sim.path)
        try:
            assert await _secure_all(reader, UIDS[:5], AFI_ON_LOAN) == [AFI_ON_LOAN] * 5
            assert reader.command_queue is False
            queues = sum(n for name, n in sim.stats.by_command.items() if name.startswith("BC"))
            assert queues == 1  # asked once, answered "no such command"
            assert all(sim.tag(uid).afi == AFI_ON_LOAN for uid in UIDS[:5])
        finally:
            await reader.close()


async def test_in_a_group_each_tag_gets_its_own_answer() -> None:
    with SimulatedFeigReader() as sim:
        for uid in UIDS[:4]:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        sim.remove(UIDS[2])  # lifted before its write
        sim.inject(Fault.WRITE_LOST, on=fp.ISO_WRITE_AFI)  # the first write is acknowledged, not stored
        reader = FeigReader(sim.path)
        try:
            results = await asyncio.gather(
                *(reader.write_afi(uid, AFI_ON_LOAN) for uid in UIDS[:4]), return_exceptions=True
            )
            assert [type(r).__name__ for r in results] == [
                "NoneType",
                "NoneType",
                "TagNotPresent",
                "NoneType",
            ]
            afis = await asyncio.gather(*(reader.read_afi(uid) for uid in (UIDS[0], UIDS[1], UIDS[3])))
            assert afis == [AFI_IN_LIBRARY, AFI_ON_LOAN, AFI_ON_LOAN]  # only reading back shows the lost one
        finally:
            await reader.close()


async def test_a_garbled_group_reply_fails_every_write_in_it_and_the_next_try_works() -> None:
    with SimulatedFeigReader() as sim:
        for uid in UIDS[:3]:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        reader = FeigReader(sim.path, command_queue=True, timeout=0.5)
        try:
            sim.inject(Fault.CORRUPT_FRAME, on=fp.ISO_WRITE_AFI)
            results = await asyncio.gather(
                *(reader.write_afi(uid, AFI_ON_LOAN) for uid in UIDS[:3]), return_exceptions=True
            )
            assert all(isinstance(r, FeigFrameError) for r in results)
            assert await _secure_all(reader, UIDS[:3], AFI_ON_LOAN) == [AFI_ON_LOAN] * 3
        finally:
            await reader.close()


async def test_writes_asked_while_a_poll_waits_go_before_it() -> None:
    """The pad's inventory poll and a stack's security writes compete for the line: the writes win."""
    with SimulatedFeigReader(timing=AirTiming()) as sim:
        for uid in UIDS[:6]:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        reader = FeigReader(sim.path)
        done: list[str] = []
        try:
            first = asyncio.create_task(reader.write_afi(UIDS[0], AFI_ON_LOAN))  # on the line now
            await asyncio.sleep(0.005)
            poll = asyncio.create_task(reader.inventory())
            poll.add_done_callback(lambda _: done.append("poll"))
            await asyncio.sleep(0)
            later = [asyncio.create_task(reader.write_afi(uid, AFI_ON_LOAN)) for uid in UIDS[1:6]]
            for task in later:
                task.add_done_callback(lambda _: done.append("write"))
            await asyncio.gather(first, poll, *later)
            assert done == ["write"] * 5 + ["poll"]
        finally:
            await reader.close()
