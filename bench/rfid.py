"""RFID benchmark: a stack of 10 tags placed on the simulated FEIG pad, until all 10 items are decoded.

Runs the real driver over a pty to the simulator (default air-interface timing model) and the station's
pad logic (``kiosk.station.pad.PadWatcher``). Prints JSON:

- ``stack_decode_seconds``: from placing the stack to all 10 decoded (median of ``--runs``);
- ``lower_bound_seconds``: what the simulator's timing model allows for the same commands with a host that
  takes no time at all (one inventory with its continuation replies, then system information and one
  read of all blocks per tag, serial-line time included);
- ``ratio``: the two divided;
- ``decodes_per_second``: pure tag decoding (``decode_pad_tag``) of 10 stored NOR-RFID tags, repeated: the
  reference for
- ``decodes_per_second_iso28560_2``: the same for 10 copies of the ISO 28560-2 Annex D tag read with DSFID 0
  (the strict path: 28560-3 CRC first, then the clean 28560-2 parse with the ISIL compaction), measured in
  rounds interleaved with the reference's; ``iso28560_2_ratio`` is the two divided;
- ``security_writes``: 20 items' AFI writes, each read back (one task per item, as the station's
  ``SecurityWriter`` runs them), while the pad is polled every 0.1 s (``PadWatcher.scan``), from the first
  write to the last verified read-back. Three arms, interleaved over ``--runs`` rounds: ``before`` (one
  frame per command, first come first served: polls get between the writes), ``priority`` (security
  writes and read-backs first on the line) and ``after`` (first on the line and grouped by the FEIG
  command queue); beside them what the timing model needs for the same commands one by one and grouped.

Not a timed test: run ``.venv/bin/python bench/rfid.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.rfid import feig_protocol as fp
from drivers.rfid.base import AFI_IN_LIBRARY, AFI_ON_LOAN, TagMemory
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_sim import DEFAULT_BLOCKS, AirTiming, SimulatedFeigReader
from drivers.rfid.line import POLL
from drivers.rfid.sim import make_uid
from drivers.tags import iso28560_2
from drivers.tags.compaction import Compaction
from drivers.tags.iso28560_3 import DanishTag, encode
from kiosk.station import PadWatcher, decode_pad_tag

STACK = 10
PER_REPLY = 4


def stack_tags() -> list[tuple[bytes, bytes]]:
    return [
        (make_uid(n), encode(DanishTag(1, 1, 1, f"2190000{n:07d}", "NO", "2190000")))
        for n in range(1, STACK + 1)
    ]


def lower_bound(timing: AirTiming) -> float:
    """The timing model's time for the minimal command sequence, with a host that takes no time."""
    uid = make_uid(1)
    total = 0.0

    def frames(request: fp.Request, reply_len: int) -> float:
        return timing.serial_time(len(fp.encode_request(request)) + reply_len)

    total += timing.inventory_time(STACK)
    replies = -(-STACK // PER_REPLY)
    for i in range(replies):
        tags = min(PER_REPLY, STACK - i * PER_REPLY)
        total += frames(fp.inventory(more=i > 0), 7 + 1 + 10 * tags)
    for _ in range(STACK):
        total += timing.system_info_time() + frames(fp.system_information(uid), 7 + 13)
        total += timing.read_time(DEFAULT_BLOCKS, 4) + frames(
            fp.read_multiple(uid, 0, DEFAULT_BLOCKS), 7 + 2 + DEFAULT_BLOCKS * 5
        )
    return total


async def one_run(timing: AirTiming) -> float:
    with SimulatedFeigReader(timing=timing, max_tags_per_reply=PER_REPLY) as sim:
        reader = FeigReader(sim.path)
        watcher = PadWatcher(reader)
        await watcher.scan()  # the port is open and the pad empty, as on a kiosk waiting for a patron
        started = time.perf_counter()
        for uid, data in stack_tags():
            sim.place(uid, data)
        for _ in range(100):
            await watcher.scan()
            if len(watcher.tags) == STACK:
                break
        elapsed = time.perf_counter() - started
        await reader.close()
        assert len(watcher.tags) == STACK
        return elapsed


WRITES = 20
ARMS = ("before", "priority", "after")


def security_bound(timing: AirTiming, grouped: bool) -> float:
    """The timing model's time for WRITES AFI writes and read-backs, one frame each or command queues."""
    writes = [fp.write_afi(make_uid(100 + n), AFI_ON_LOAN) for n in range(WRITES)]
    reads = [fp.system_information(make_uid(100 + n)) for n in range(WRITES)]
    air = WRITES * (timing.afi_time() + timing.system_info_time())
    if not grouped:
        frames = sum(len(fp.encode_request(r)) + 6 for r in writes)
        return air + timing.serial_time(frames + sum(len(fp.encode_request(r)) + 6 + 13 for r in reads))
    serial = 0
    for commands in (writes, reads):
        while commands:
            group = commands[:1]
            while len(group) < len(commands) and fp.queue_fits(commands[: len(group) + 1]):
                group = commands[: len(group) + 1]
            reply = 7 + sum(2 + fp.QUEUE_REPLY_DATA[c.data[0]] for c in group)
            serial += len(fp.encode_request(fp.command_queue(group))) + reply
            commands = commands[len(group) :]
    return air + timing.serial_time(serial)


async def security_run(timing: AirTiming, arm: str) -> tuple[float, int]:
    """Seconds from the first write to the last verified read-back, and the frames it took."""
    with SimulatedFeigReader(timing=timing, max_tags_per_reply=PER_REPLY) as sim:
        uids = [make_uid(100 + n) for n in range(WRITES)]
        for uid in uids:
            sim.place(uid, b"", AFI_IN_LIBRARY)
        reader = FeigReader(sim.path, command_queue=None if arm == "after" else False)
        if arm == "before":
            reader.security_priority = POLL  # first come, first served
        watcher = PadWatcher(reader)
        await watcher.scan()  # the stack is read
        polling = True

        async def poll() -> None:
            while polling:
                await watcher.scan()
                await asyncio.sleep(0.1)

        async def secure(uid: bytes) -> None:
            await reader.write_afi(uid, AFI_ON_LOAN)
            assert await reader.read_afi(uid) == AFI_ON_LOAN

        poller = asyncio.create_task(poll())
        await asyncio.sleep(0.05)
        exchanges, started = reader.exchanges, time.perf_counter()
        await asyncio.gather(*(secure(uid) for uid in uids))
        elapsed, frames = time.perf_counter() - started, reader.exchanges - exchanges
        polling = False
        await poller
        await reader.close()
    return elapsed, frames


def security_writes(timing: AirTiming, rounds: int) -> dict[str, object]:
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    frames: dict[str, int] = {}
    for r in range(rounds):
        for arm in ARMS[r % 3 :] + ARMS[: r % 3]:
            elapsed, frames[arm] = asyncio.run(security_run(timing, arm))
            times[arm].append(elapsed)
    medians = {arm: statistics.median(t) for arm, t in times.items()}
    return {
        "writes": WRITES,
        "median_seconds": {arm: round(m, 3) for arm, m in medians.items()},
        "runs_seconds": {arm: [round(t, 3) for t in ts] for arm, ts in times.items()},
        "frames_incl_polls": frames,
        "model_one_by_one_seconds": round(security_bound(timing, grouped=False), 3),
        "model_grouped_seconds": round(security_bound(timing, grouped=True), 3),
        "after_over_before": round(medians["after"] / medians["before"], 2),
    }


def nor_rfid_memories() -> list[TagMemory]:
    return [TagMemory(uid, data.ljust(112, b"\0"), 7) for uid, data in stack_tags()]


def iso28560_2_memories() -> list[TagMemory]:
    annex_d = iso28560_2.Iso28560_2Tag(
        "123456789012",
        "US-InU-Mu",
        12,
        3,
        other=(iso28560_2.DataSet(6, Compaction.SIX_BIT, "QA268.L55"),),
        data_set_order=(1, 2, 4, 6, 3),
    )
    data = iso28560_2.encode(annex_d).ljust(112, b"\0")
    return [TagMemory(make_uid(n), data, 7, dsfid=0) for n in range(1, STACK + 1)]


def decodes_per_second(memories: list[TagMemory], seconds: float = 1.0) -> float:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for memory in memories:
            decode_pad_tag(memory)
        count += len(memories)
    return count / (time.perf_counter() - started)


def interleaved_decodes(rounds: int = 5, seconds: float = 0.2) -> tuple[float, float]:
    """Median decodes per second of the NOR-RFID reference and of the ISO 28560-2 tags, rounds alternating."""
    reference, candidate = nor_rfid_memories(), iso28560_2_memories()
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours.append(decodes_per_second(reference, seconds))
        theirs.append(decodes_per_second(candidate, seconds))
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    timing = AirTiming()
    runs = [asyncio.run(one_run(timing)) for _ in range(args.runs)]
    measured = statistics.median(runs)
    bound = lower_bound(timing)
    nor_rfid, iso_2 = interleaved_decodes()
    security = security_writes(timing, args.runs)
    print(
        json.dumps(
            {
                "benchmark": "rfid",
                "stack": STACK,
                "reader": "FEIG simulator on a pty, 38400 baud, default AirTiming",
                "stack_decode_seconds": round(measured, 4),
                "runs_seconds": [round(r, 4) for r in runs],
                "lower_bound_seconds": round(bound, 4),
                "ratio": round(measured / bound, 3),
                "decodes_per_second": round(nor_rfid),
                "decodes_per_second_iso28560_2": round(iso_2),
                "iso28560_2_ratio": round(iso_2 / nor_rfid, 3),
                "security_writes": security,
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
