"""`kiosk journal ...`: the staff side of the offline journal (see docs/OFFLINE.md).

    kiosk journal list [--state S] [--limit N] [--json]    entries, newest first; no patron ids
    kiosk journal show ID [--json]                          everything about one entry (a unique id prefix)
    kiosk journal conflicts [--json]                        what the library system refused on replay
    kiosk journal conflicts resolve ID --note TEXT          staff fixed it: mark it resolved
    kiosk journal sync [--json]                             replay what waits, exactly once (station stopped)
    kiosk journal purge [--days N]                          forget finished entries older than N days

Every command takes `--config FILE` (the journal is its `[journal] path`; `sync` also needs its `[sip2]`
section) or `--journal PATH`. Problems are one line on stderr and exit status 1. Patron ids are shown only
by `show` and `conflicts`, which are for staff; PINs are never in the journal at all.

A running station keeps outcomes in memory for a while before committing them (they ride along with the
next commit), so these commands may see its newest entries as still "sending"; the station's own staff
screen shows its live state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import Commands, print_json
from kiosk.cli.journal_text import LIST_HEADER, conflict_lines, describe, entry_record, list_row
from kiosk.config import ConfigError, JournalSection, StationConfig
from kiosk.config import load as load_config

if TYPE_CHECKING:
    from kiosk.journal import Entry, Journal
    from server_api.circulation import Circulation


class JournalCommandError(Exception):
    """A problem the person at the terminal can act on; printed as one line."""


# ------------------------------------------------------------ opening the journal


def _config(args: argparse.Namespace) -> StationConfig | None:
    return load_config(Path(args.config)) if getattr(args, "config", None) else None


def _journal_path(args: argparse.Namespace, config: StationConfig | None) -> Path:
    if getattr(args, "journal", None):
        path, where = Path(args.journal), "--journal"
    elif config is not None:
        path, where = Path(config.journal.path), f"{config.source}: [journal] path"
    else:
        raise JournalCommandError("name the journal: --config FILE (its [journal] path) or --journal PATH")
    if not path.is_file():
        raise JournalCommandError(f"no journal at {path} ({where})")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            found = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='entries'").fetchone()
    except sqlite3.DatabaseError as error:
        raise JournalCommandError(f"{path} is not a station journal: {error}") from None
    if not found:
        raise JournalCommandError(f"{path} is not a station journal (no entries table)")
    return path


def _open(args: argparse.Namespace, *, exclusive: bool = False) -> Journal:
    from kiosk.journal import Journal

    return Journal(_journal_path(args, _config(args)), exclusive=exclusive)


def _find(journal: Journal, given: str) -> Entry:
    """The entry whose id starts with `given` (hyphens optional); it must be the only one."""
    wanted = given.strip().lower().replace("-", "")
    if not wanted:
        raise JournalCommandError("give an entry id (or the start of one)")
    matches = [e for e in journal.entries() if e.id.hex.startswith(wanted)]
    if not matches:
        raise JournalCommandError(f"no entry with id {given!r} in {journal.path}")
    if len(matches) > 1:
        raise JournalCommandError(
            f"id {given!r} matches {len(matches)} entries in {journal.path}: give more of it"
        )
    return matches[0]


def cmd_list(args: argparse.Namespace) -> int:
    from kiosk.journal import State

    states: tuple[State, ...] = ()
    if args.state:
        try:
            states = tuple(State(s.strip().lower()) for s in args.state.split(","))
        except ValueError:
            known = ", ".join(s.value for s in State)
            raise JournalCommandError(f"--state {args.state!r}: use one or more of {known}") from None
    journal = _open(args)
    try:
        entries = journal.entries(states=states)
        counts = journal.counts()
    finally:
        journal.close()
    shown = entries[::-1][: args.limit] if args.limit is not None else entries[::-1]
    if args.json:
        for entry in shown:
            print_json(entry_record(entry, patron=False))
        return 0
    if not shown:
        print("No entries." if not states else f"No entries in state {args.state}.")
    else:
        print(LIST_HEADER)
        for e in shown:
            print(list_row(e))
    summary = ", ".join(f"{state} {n}" for state, n in sorted(counts.items()))
    print(f"{len(shown)} shown of {sum(counts.values())} ({summary or 'empty'})")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    journal = _open(args)
    try:
        entry = _find(journal, args.id)
    finally:
        journal.close()
    if args.json:
        print_json(entry_record(entry, patron=True))
        return 0
    for label, value in describe(entry):
        print(f"{label + ':':21} {value}")
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    journal = _open(args)
    try:
        conflicts = journal.conflicts()
    finally:
        journal.close()
    if args.json:
        for entry in conflicts:
            print_json(entry_record(entry, patron=True))
        return 0
    if not conflicts:
        print("No conflicts.")
        return 0
    for e in conflicts:
        print("\n".join(conflict_lines(e)))
    print(
        f"{len(conflicts)} conflict(s). Fix the account, then: kiosk journal conflicts resolve ID --note TEXT"
    )
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from kiosk.journal import State

    note = args.note.strip()
    if not note:
        raise JournalCommandError("--note must say what was done (it is kept with the entry)")
    journal = _open(args)
    try:
        entry = _find(journal, args.id)
        if entry.state is not State.CONFLICT:
            raise JournalCommandError(f"entry {entry.id} is {entry.state.value}, not a conflict")
        journal.resolve(entry.id, note)
    finally:
        journal.close()
    print(f"resolved {entry.id}: {entry.operation.value} of item {entry.item_id} ({note})")
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    """What staff must do at the station: security writes, a dead reader, lost staff slips."""
    journal = _open(args)
    try:
        tasks = journal.tasks(include_done=args.all)
    finally:
        journal.close()
    if args.json:
        for t in tasks:
            print_json(
                {"id": t.id, "kind": t.kind.value, "item_id": t.item_id, "detail": t.detail, "at": t.at}
            )
        return 0
    if not tasks:
        print("No staff tasks.")
        return 0
    for t in tasks:
        print(f"{t.id:>5}  {t.at:%Y-%m-%d %H:%M}  {t.kind.value:<20} {t.item_id or '-':<16} {t.detail}")
    print(f"{len(tasks)} task(s). When one is done: kiosk journal tasks done ID --note TEXT")
    return 0


def cmd_task_done(args: argparse.Namespace) -> int:
    note = args.note.strip()
    if not note:
        raise JournalCommandError("--note must say what was done (it is kept with the task)")
    journal = _open(args)
    try:
        if not journal.finish_task(args.id, note, datetime.now()):
            raise JournalCommandError(
                f"there is no open staff task {args.id} (kiosk journal tasks lists them)"
            )
    finally:
        journal.close()
    print(f"task {args.id} done ({note})")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    config = _config(args)
    days = args.days
    if days is None:
        days = (config.journal if config else JournalSection()).purge_after_days
    if days < 0:
        raise JournalCommandError(f"--days must not be negative, got {days}")
    from kiosk.journal import Journal

    journal = Journal(_journal_path(args, config))
    try:
        purged = journal.purge(timedelta(days=days))
    finally:
        journal.close()
    print(f"purged {purged} finished entr{'y' if purged == 1 else 'ies'} older than {days} days")
    return 0


def _circulation(config: StationConfig) -> Circulation:
    """The library system, built the way the station builds it (`StationConfig.sip2_settings`)."""
    from server_api.sip2.circulation import Sip2Circulation

    return Sip2Circulation(config.sip2_settings())  # ConfigError names the key that is wrong


def cmd_sync(args: argparse.Namespace) -> int:
    from kiosk.journal import JournalBusy, Replayer
    from server_api.circulation import CirculationError

    config = _config(args)
    if config is None:
        raise JournalCommandError(
            "sync needs --config FILE: its [sip2] section says where the library system is"
        )
    circulation = _circulation(config)
    where = f"{config.sip2.host}:{config.sip2.port}"

    async def run() -> int:
        try:
            journal = _open(args, exclusive=True)
        except JournalBusy as error:
            raise JournalCommandError(str(error)) from None
        try:
            waiting = len(journal.unsettled())
            try:
                await circulation.ping()
            except CirculationError as error:
                raise JournalCommandError(f"cannot reach the library system at {where}: {error}") from None
            report = await Replayer(journal, circulation).sync()
        finally:
            await circulation.close()
            journal.close()
        if args.json:
            print_json({"waiting": waiting, **report.as_dict()})
        else:
            print(
                f"{waiting} waiting: {report.replayed} replayed, {report.reconciled} found already done, "
                f"{report.conflicts} conflict(s), {report.abandoned} dropped (never reached the library"
                f" system, patron told so), {report.remaining} still waiting"
            )
            if report.conflicts:
                print("See them with: kiosk journal conflicts")
        if report.stopped:
            print(f"error: sync stopped: {report.stopped}", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(run())


# ------------------------------------------------------------ wiring


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from kiosk.journal import JournalBusy

        try:
            return command(args)
        except (JournalCommandError, ConfigError, JournalBusy) as error:
            print(f"error: {error}", file=sys.stderr)
        except (sqlite3.Error, OSError) as error:
            print(f"error: the journal: {error}", file=sys.stderr)
        return 1

    return run


def _where(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    # Nested subcommands (conflicts resolve) must not reset what was given before them.
    default: str | None = argparse.SUPPRESS if nested else None
    parser.add_argument("--config", default=default, help="station configuration: its [journal] path")
    parser.add_argument("--journal", default=default, help="the journal file (overrides --config's)")


def register(commands: Commands) -> None:
    """Register `kiosk journal ...` on the top-level subparsers."""
    journal = commands.add_parser("journal", help="the offline journal: entries, conflicts, sync, purge")
    sub = journal.add_subparsers(dest="journal_command", required=True)

    listing = sub.add_parser("list", help="entries, newest first (no patron ids)")
    _where(listing)
    listing.add_argument("--state", help="only these states, comma-separated (e.g. queued,conflict)")
    listing.add_argument("--limit", type=int, help="at most this many")
    listing.add_argument("--json", action="store_true", help="one JSON object per entry")
    listing.set_defaults(func=_guarded(cmd_list))

    show = sub.add_parser("show", help="everything about one entry (id or a unique start of it)")
    _where(show)
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_guarded(cmd_show))

    conflicts = sub.add_parser("conflicts", help="replays the library system refused, for staff")
    _where(conflicts)
    conflicts.add_argument("--json", action="store_true", help="one JSON object per conflict")
    conflicts.set_defaults(func=_guarded(cmd_conflicts))
    conflict_commands = conflicts.add_subparsers(dest="conflicts_command")
    resolve = conflict_commands.add_parser("resolve", help="mark a conflict resolved, with what was done")
    _where(resolve, nested=True)
    resolve.add_argument("id")
    resolve.add_argument("--note", required=True, help="what staff did (kept with the entry)")
    resolve.set_defaults(func=_guarded(cmd_resolve))

    tasks = sub.add_parser("tasks", help="what staff must do at the station (security, reader, lost slips)")
    _where(tasks)
    tasks.add_argument("--all", action="store_true", help="done ones too")
    tasks.add_argument("--json", action="store_true", help="one JSON object per task")
    tasks.set_defaults(func=_guarded(cmd_tasks))
    task_commands = tasks.add_subparsers(dest="tasks_command")
    done = task_commands.add_parser("done", help="mark a task done, with what was done")
    _where(done, nested=True)
    done.add_argument("id", type=int)
    done.add_argument("--note", required=True, help="what staff did (kept with the task)")
    done.set_defaults(func=_guarded(cmd_task_done))

    sync = sub.add_parser(
        "sync", help="replay what waits to the library system of --config (station stopped)"
    )
    _where(sync)
    sync.add_argument("--json", action="store_true")
    sync.set_defaults(func=_guarded(cmd_sync))

    purge = sub.add_parser("purge", help="forget finished entries older than --days")
    _where(purge)
    purge.add_argument("--days", type=int, help="default: [journal] purge_after_days (30)")
    purge.set_defaults(func=_guarded(cmd_purge))


__all__ = ["register"]
