"""One life of a station in the crash test: start, catch up from the journal, serve the workload, die.

    python -m tests.crash.worker --workdir DIR --ils-port PORT --workload FILE [--failpoint NAME --hit N]

The station is the real one (kiosk.station.station.Station with the simulated pad, the real journal file in
DIR and SIP2 over TCP to the harness's library system). With `--failpoint`, the process SIGKILLs itself
at the N-th time it passes that point: just before or after a journal write, or just before a request
goes out or just after its reply came back and before the station saw it. The harness also kills it
from outside at random moments.

Exit codes: 0 the workload is done (and synced, when online); 3 a step was refused (try again in the
next life); 4 an action of unknown fate waits for the network.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from kiosk.core import Action, OfflinePolicy, RowState, SessionPolicy
from kiosk.demo import DemoEnvironment, finish_visit, handle_stack, log_in
from tests.crash import workload

JOURNAL_POINTS = ("record_many", "settle", "flush", "mark_replaying", "mark_replaying_many", "note_security")
CIRCULATION_POINTS = ("checkout", "checkin")
# reader.write_afi:before is just before the security bit is written; :after is between the write and
# the read-back that verifies it (the tag has changed, the station does not know yet).
READER_POINTS = ("write_afi",)
FAILPOINTS = tuple(
    f"{where}.{name}:{when}"
    for where, names in (
        ("journal", JOURNAL_POINTS),
        ("circulation", CIRCULATION_POINTS),
        ("reader", READER_POINTS),
    )
    for name in names
    for when in ("before", "after")
)
TAGS_FILE = "tags.json"  # every tag's AFI, kept across lives as a physical tag keeps it

EXIT_REFUSED = 3
EXIT_NEEDS_NETWORK = 4
EXIT_STUCK = 5


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Failpoint:
    """Counts passes through one point and kills the process at the chosen one."""

    def __init__(self, name: str, hit: int) -> None:
        self.name = name
        self.hit = hit
        self.passes = 0

    def passing(self, name: str) -> None:
        if name == self.name:
            self.passes += 1
            if self.passes >= self.hit:
                die()

    def wrap(self, owner: object, where: str, method: str) -> None:
        original = getattr(owner, method)
        before, after = f"{where}.{method}:before", f"{where}.{method}:after"
        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                self.passing(before)
                result = await original(*args, **kwargs)
                self.passing(after)
                return result

            setattr(owner, method, wrapped_async)
        else:

            @functools.wraps(original)
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                self.passing(before)
                result = original(*args, **kwargs)
                self.passing(after)
                return result

            setattr(owner, method, wrapped)


class TagState:
    """The tags' AFI outlives the station process, as stickers in books do: written to `path` after
    every write the pad took (before any failpoint after it), read back at the next life's start over
    what the demo derives from the library system."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.afi: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def restore(self, env: DemoEnvironment) -> None:
        if not self.afi:  # the first life: the tags as the library system's state put them
            self.afi = {uid.hex(): afi for uid, afi in env.afi.items()}
            self._save()
        env.afi.update({bytes.fromhex(uid): afi for uid, afi in self.afi.items()})

    def follow(self, pad: Any) -> None:
        original = pad.write_afi

        @functools.wraps(original)
        async def write_afi(uid: bytes, afi: int) -> None:
            await original(uid, afi)
            self.afi[uid.hex()] = afi
            self._save()

        pad.write_afi = write_afi

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.afi))
        os.replace(tmp, self.path)


def report(**data: Any) -> None:
    print(json.dumps(data), flush=True)


async def live(args: argparse.Namespace) -> int:
    plan = workload.load(args.workload)
    env = DemoEnvironment(
        args.workdir,
        ils_address=("127.0.0.1", args.ils_port),
        # Patrons in a hurry: no goodbye screen to wait out, a pad polled often. A life that starts
        # offline has seen nobody online yet: its patrons' cards count as known (the card rules are
        # tests/core's subject; this harness is about losing nothing).
        policy=SessionPolicy(goodbye_time=timedelta(0), offline=OfflinePolicy(known_card=False)),
        poll_interval=0.01,
        failure_budget=1,
        probe_interval=0.5,
        tick_interval=0.05,
        sip2_timeout=3.0,
        gateway_url=args.gateway_url,  # through the consortium's gateway (the harness runs and kills it)
        gateway_token=args.gateway_token,
    )
    failpoint = Failpoint(args.failpoint or "", args.hit)
    if args.failpoint:
        for method in JOURNAL_POINTS:
            failpoint.wrap(env.journal, "journal", method)
    tags = TagState(args.workdir / TAGS_FILE)
    async with env:
        assert env.station is not None and env.circulation is not None
        station = env.station
        tags.restore(env)  # before anything is placed on the pad
        tags.follow(env.pad)
        if args.failpoint:
            # Before the first await: the start-up replay must already pass through the failpoints.
            for method in CIRCULATION_POINTS:
                failpoint.wrap(env.circulation, "circulation", method)
            for method in READER_POINTS:
                failpoint.wrap(env.pad, "reader", method)
        await station.settle()  # the start-up connection check, and the replay if online

        done, unknown = workload.progress(plan, env.journal.entries())
        if unknown:
            report(event="waiting", unknown=unknown, online=station.online)
            return EXIT_NEEDS_NETWORK
        all_steps = workload.steps(plan)
        for number, visit in enumerate(plan):
            todo = [s for s in all_steps if s.visit == number and s not in done]
            returns = [s.item_id for s in todo if s.operation == "checkin"]
            borrows = [s.item_id for s in todo if s.operation == "checkout"]
            if not returns and not borrows:
                continue
            # Offline the station would lend it (it cannot know): the library system refuses it online.
            doomed = list(visit.refused) if station.online else []
            if not await log_in(env, visit.patron, visit.pin):
                report(event="refused", visit=number, refused="login", online=station.online)
                return EXIT_REFUSED
            refused = 0
            for action, items in ((Action.RETURN, returns), (Action.BORROW, borrows + doomed)):
                if items:
                    try:
                        screen = await handle_stack(env, action, items)
                    except TimeoutError:
                        # A row that never settles is a station bug: say what it was waiting for.
                        report(
                            event="stuck",
                            visit=number,
                            action=action.value,
                            items=items,
                            online=station.online,
                            rows=[(r.item_id, r.state.value, str(r.text)) for r in station.screen.rows],
                            unsettled=[
                                (e.operation.value, e.item_id, e.state.value, e.outcome)
                                for e in env.journal.unsettled()
                            ],
                            tasks=[
                                f"{t.get_name()}: {t.get_stack(limit=3)}"
                                for t in asyncio.all_tasks()
                                if not t.done()
                            ],
                        )
                        return EXIT_STUCK
                    refused += sum(
                        1
                        for row in screen.rows
                        if row.item_id in items and row.item_id not in doomed and not _ok(row.state)
                    )
            await finish_visit(env, receipt=False)
            if refused:
                report(event="refused", visit=number, refused=refused, online=station.online)
                return EXIT_REFUSED

        if station.online:
            async with asyncio.timeout(60):
                while env.journal.unsettled():
                    await asyncio.sleep(0.1)
                    if not station.online:
                        break
        await station.settle()
        env.journal.flush()
        report(
            event="finished",
            online=station.online,
            unsettled=len(env.journal.unsettled()),
            entries=len(env.journal.entries()),
        )
        return 0


def _ok(state: RowState) -> bool:
    return state is RowState.DONE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--ils-port", type=int, required=True)
    parser.add_argument("--workload", type=Path, required=True)
    parser.add_argument("--failpoint", choices=FAILPOINTS)
    parser.add_argument("--hit", type=int, default=1)
    parser.add_argument("--gateway-url", default="", help="talk to this gateway instead of SIP2 direct")
    parser.add_argument("--gateway-token", default="")
    args = parser.parse_args(argv)
    return asyncio.run(live(args))


if __name__ == "__main__":
    sys.exit(main())
