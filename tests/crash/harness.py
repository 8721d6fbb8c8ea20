"""The crash test: kill a working station with SIGKILL again and again; nothing may be lost or doubled.

    python -m tests.crash.harness --runs 1000 [--seed S] [--parallel P]

The harness runs the demo library system (SQLite, SIP2 over TCP) and a network link it can cut, both in
this process, so they outlive every station. For each *epoch* it writes a seeded workload of patron
visits (returns and loans), then starts station processes (`tests.crash.worker`) one after another on the
same journal file. Before each life the link is up or cut (a station that starts offline serves the
visits offline and journals them). Each life ends in a SIGKILL:

- from outside, after a random delay (anywhere: start-up, mid-session, mid-replay), or
- from inside, at the N-th pass through a failpoint: before/after each journal write, before a request
  goes out, after its reply came back but before the station saw it.

The tags keep their AFI across lives (`tags.json` in the station's folder, as stickers in books keep
theirs); failpoints sit before `write_afi` and between the write and its read-back.

When the epoch's kills are spent, a last life runs with the network up and no failpoint: it finishes
the workload and replays everything. Then the library system's own event log is compared with the
workload, and every tag with the library system (`tag_disagreements`: on loan but in-library AFI, or
back but on-loan AFI, with no staff task naming the item; a loss with `--afi-oracle`). The library
system's log must show every intended loan and return exactly once, in order per item, and each item
with the right patron at the end; and a reference copy that some patrons also try to borrow while online
(the library system refuses it) is never lent by a crash and a replay. kiosk.demo.audit compares the
journal with the same log as a second opinion.

With `--gateway` the station talks to a kiosk-gateway process (SQLite) in front of the library system
(`tests.crash.gateway_side`), and that gateway is SIGKILLed too, at random moments of half the lives, and
started again at once: the same verdict must hold.

Prints one JSON object: kills (by kind), lives, lost, duplicated, out_of_order, wrong_final_holder,
refused_then_lent and the audit's figures. Exit code 0 only when all of those are 0.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.demo import audit
from kiosk.journal import Journal, State
from server_api.demo_ils.server import DemoIls
from server_api.faulty_link import FaultyLink
from tests.crash import workload
from tests.crash.gateway_side import GatewaySide
from tests.crash.worker import EXIT_NEEDS_NETWORK, EXIT_REFUSED, FAILPOINTS, TAGS_FILE

ROOT = Path(__file__).resolve().parents[2]
KILLS_PER_EPOCH = 10
VISITS_PER_EPOCH = 40
LIFE_TIMEOUT = 90.0  # a life that takes longer has hung: that is a failure, not a kill
FINAL_ATTEMPTS = 6


@dataclass
class Tally:
    kills: collections.Counter[str] = field(default_factory=collections.Counter)
    lives: int = 0
    offline_lives: int = 0
    refused_lives: int = 0
    waiting_lives: int = 0
    epochs: int = 0
    intended: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    wrong_final_holder: int = 0
    refused_then_lent: int = 0
    refusals: int = 0
    audit_lost: int = 0
    audit_duplicated: int = 0
    audit_unsettled: int = 0
    replayed: int = 0
    conflicts: int = 0
    tag_disagreements: int = 0  # tag and library system disagree, and no staff task names the item
    afi_oracle: bool = False  # count those as losses (issue 11: on once the AFI intent is journalled)
    failures: list[str] = field(default_factory=list)
    gateway: bool = False  # through a gateway, which is killed too
    gateway_kills: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "kills": sum(self.kills.values()),
            "kills_by": dict(sorted(self.kills.items())),
            "lives": self.lives,
            "offline_lives": self.offline_lives,
            "epochs": self.epochs,
            "intended": self.intended,
            "replayed": self.replayed,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "out_of_order": self.out_of_order,
            "wrong_final_holder": self.wrong_final_holder,
            "refusals": self.refusals,
            "refused_then_lent": self.refused_then_lent,
            "audit_lost": self.audit_lost,
            "audit_duplicated": self.audit_duplicated,
            "audit_unsettled": self.audit_unsettled,
            "conflicts": self.conflicts,
            "tag_disagreements": self.tag_disagreements,
            "afi_oracle": self.afi_oracle,
            "failures": self.failures,
            "gateway": self.gateway,
            "gateway_kills": self.gateway_kills,
        }

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.out_of_order
            or self.wrong_final_holder
            or self.refused_then_lent
            or self.audit_lost
            or self.audit_duplicated
            or self.audit_unsettled
            or (self.afi_oracle and self.tag_disagreements)
            or self.failures
        )


def _passes(failpoint: str) -> int:
    """Roughly how often a life passes this point, so that kills land all along the workload."""
    per_action = ("record", "settle", "note_security", "circulation.", "reader.")
    return 3 * VISITS_PER_EPOCH // 2 if any(p in failpoint for p in per_action) else 3


async def _life(
    workdir: Path,
    port: int,
    plan_file: Path,
    *,
    failpoint: str | None,
    hit: int,
    kill_after: float | None,
    extra: tuple[str, ...] = (),
) -> tuple[int, str]:
    """Run one station process; return its exit code (-9 when SIGKILLed) and its last output line."""
    command = [
        sys.executable,
        "-m",
        "tests.crash.worker",
        "--workdir",
        str(workdir),
        "--ils-port",
        str(port),
        "--workload",
        str(plan_file),
    ]
    if failpoint:
        command += ["--failpoint", failpoint, "--hit", str(hit)]
    command += extra
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = kill_after if kill_after is not None else LIFE_TIMEOUT
    assert process.stdout is not None and process.stderr is not None
    # Read all along, so nothing is lost when the kill races the process's own end.
    stdout_task = asyncio.create_task(process.stdout.read())
    stderr_task = asyncio.create_task(process.stderr.read())
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), deadline)
    except TimeoutError:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own just now
            process.kill()
        await process.wait()
    stdout, stderr = await stdout_task, await stderr_task
    assert process.returncode is not None
    if timed_out and kill_after is None:
        return -1000, f"hung for {LIFE_TIMEOUT:.0f} s: {stderr.decode()[-2000:]}"
    lines = stdout.decode().strip().splitlines()
    last = lines[-1] if lines else stderr.decode().strip()[-2000:]
    if process.returncode not in (0, -9) and lines:  # a failure: what the station logged helps
        last += " | stderr: " + stderr.decode().strip()[-3000:]
    return process.returncode, last


def _finished(code: int, last: str) -> bool:
    """The life ended by itself with the workload done and nothing left to replay."""
    if code != 0:
        return False
    try:
        return bool(json.loads(last).get("unsettled") == 0)
    except ValueError:
        return False


async def _epoch(number: int, seed: int, kills_wanted: int, base: Path, tally: Tally) -> int:
    """A `_station_epoch` straight to the library system, or through a gateway that is killed too."""
    if not tally.gateway:
        return await _station_epoch(number, seed, kills_wanted, base, tally, None)
    gateway_rng = random.Random(seed * 7_919 + number)  # its own draws: the SIP2 runs stay as they were
    return await _station_epoch(number, seed, kills_wanted, base, tally, gateway_rng)


async def _station_epoch(
    number: int, seed: int, kills_wanted: int, base: Path, tally: Tally, gateway_rng: random.Random | None
) -> int:
    """One workload on a fresh library system and journal, killed up to `kills_wanted` times.
    Returns the kills it spent."""
    rng = random.Random(seed * 100_003 + number)
    workdir = base / f"epoch-{number}"
    workdir.mkdir(parents=True)
    ils_db = workdir / "ils.sqlite3"
    async with DemoIls(db_path=ils_db, host="127.0.0.1", port=0) as ils:
        async with (
            FaultyLink("127.0.0.1", ils.port) as link,
            _gateway(workdir, link, gateway_rng, tally) as side,
        ):
            extra = tuple(side.worker_args()) if side else ()
            plan = workload.make_workload(rng, workload.lendable_items(ils_db), VISITS_PER_EPOCH)
            plan_file = workdir / "workload.json"
            workload.save(plan_file, plan)
            station_dir = workdir / "station"
            kills = 0
            finished = False
            while kills < kills_wanted:
                online = rng.random() >= 0.35
                link.set_cut(not online)
                if rng.random() < 0.5:
                    failpoint, hit, kill_after = None, 0, rng.uniform(0.3, 2.5)
                    kind = "timer"
                else:
                    failpoint = rng.choice(FAILPOINTS)
                    hit, kill_after = rng.randint(1, _passes(failpoint)), None
                    kind = failpoint
                life = asyncio.create_task(
                    _life(station_dir, link.port, plan_file, failpoint=failpoint, hit=hit,
                          kill_after=kill_after, extra=extra)
                )  # fmt: skip
                if side is not None and gateway_rng is not None:
                    await side.kill_during(gateway_rng, life)
                code, last = await life
                tally.lives += 1
                tally.offline_lives += not online
                if code == -9:
                    kills += 1
                    tally.kills[kind] += 1
                elif code == 0:
                    # The workload finished before this life's failpoint came up.
                    if online and _finished(code, last):
                        finished = True
                        break
                elif code == EXIT_REFUSED:
                    tally.refused_lives += 1
                elif code == EXIT_NEEDS_NETWORK:
                    tally.waiting_lives += 1
                else:
                    tally.failures.append(f"epoch {number}: station exited {code}: {last}")
                    return kills
            link.set_cut(False)
            attempts = 0
            while not finished:
                attempts += 1
                code, last = await _life(
                    station_dir, link.port, plan_file, failpoint=None, hit=0, kill_after=None, extra=extra
                )
                tally.lives += 1
                if _finished(code, last):
                    finished = True
                elif attempts >= FINAL_ATTEMPTS or code not in (0, EXIT_REFUSED, EXIT_NEEDS_NETWORK):
                    tally.failures.append(f"epoch {number}: the last life did not finish ({code}): {last}")
                    return kills
        verdict = workload.compare(plan, ils_db)
        journal = Journal(station_dir / "journal.sqlite3")
        try:
            second_opinion = audit(journal, ils_db)
            refusals = sum(
                1 for e in journal.entries(states=(State.REFUSED,)) if e.item_id == workload.REFUSED_ONLINE
            )
            # What staff were told about: conflicts, and staff tasks (security writes failed or unfinished).
            staff_items = {e.item_id for e in journal.entries(states=(State.CONFLICT, State.RESOLVED))}
            staff_items |= {task.item_id for task in journal.tasks(include_done=True)}
        finally:
            journal.close()
        tag_afi = (
            json.loads((station_dir / TAGS_FILE).read_text()) if (station_dir / TAGS_FILE).exists() else {}
        )
        disagreeing = workload.tag_disagreements(plan, tag_afi, ils_db, staff_items)
    tally.epochs += 1
    tally.intended += verdict["intended"]
    tally.lost += verdict["lost"]
    tally.duplicated += verdict["duplicated"]
    tally.out_of_order += verdict["out_of_order"]
    tally.wrong_final_holder += verdict["wrong_final_holder"]
    tally.refused_then_lent += verdict["refused_then_lent"]
    tally.refusals += refusals
    tally.audit_lost += second_opinion["lost"]
    tally.audit_duplicated += second_opinion["duplicated"]
    tally.audit_unsettled += second_opinion["unsettled"]
    tally.replayed += second_opinion["replayed"]
    tally.conflicts += len(second_opinion["conflicts"])
    tally.tag_disagreements += disagreeing
    if any(
        verdict[k] for k in ("lost", "duplicated", "out_of_order", "wrong_final_holder", "refused_then_lent")
    ) or (tally.afi_oracle and disagreeing):
        tally.failures.append(
            f"epoch {number} (seed {seed}): {verdict}, tags disagreeing: {disagreeing}; kept in {workdir}"
        )
    return kills


@contextlib.asynccontextmanager
async def _gateway(
    workdir: Path, link: FaultyLink, rng: random.Random | None, tally: Tally
) -> AsyncIterator[GatewaySide | None]:
    """The epoch's gateway in front of its link (None: SIP2 direct); its kills are counted."""
    if rng is None:
        yield None
        return
    side = await GatewaySide(workdir / "gateway", link.port).start()
    try:
        yield side
    finally:
        tally.gateway_kills += side.kills
        await side.stop()


async def run(
    runs: int, seed: int, parallel: int, keep: Path | None, afi_oracle: bool = False, gateway: bool = False
) -> Tally:
    """`parallel` epochs at a time, each with its own library system, until `runs` kills are spent.
    An epoch whose workload finishes early hands its unspent kills back to the next one."""
    tally = Tally(afi_oracle=afi_oracle, gateway=gateway)
    with contextlib.ExitStack() as stack:
        base = keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crash-")))
        claimed = 0
        numbers = itertools.count()

        async def epochs() -> None:
            nonlocal claimed
            while claimed < runs and not tally.failures:
                quota = min(KILLS_PER_EPOCH, runs - claimed)
                claimed += quota
                spent = await _epoch(next(numbers), seed, quota, base, tally)
                claimed -= quota - spent

        await asyncio.gather(*(epochs() for _ in range(parallel)))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="SIGKILLs in all (default 50)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--parallel", type=int, default=max(2, os.cpu_count() or 1))
    parser.add_argument("--keep", type=Path, help="keep the epochs' files in this directory")
    parser.add_argument(
        "--afi-oracle", action="store_true", help="count a tag disagreeing with the library system as a loss"
    )
    parser.add_argument(
        "--gateway", action="store_true", help="through a kiosk-gateway process, which is killed too"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    tally = asyncio.run(run(args.runs, args.seed, args.parallel, args.keep, args.afi_oracle, args.gateway))
    print(json.dumps({**tally.as_dict(), "seconds": round(time.monotonic() - started, 1), "ok": tally.ok}))
    return 0 if tally.ok else 1


if __name__ == "__main__":
    sys.exit(main())
