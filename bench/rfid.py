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
  rounds interleaved with the reference's; ``iso28560_2_ratio`` is the two divided.

Not a timed test: run ``.venv/bin/python bench/rfid.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.rfid import feig_protocol as fp
from drivers.rfid.base import TagMemory
from drivers.rfid.feig import FeigReader
from drivers.rfid.feig_sim import DEFAULT_BLOCKS, AirTiming, SimulatedFeigReader
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
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
