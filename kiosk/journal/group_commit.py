"""Group commit: the records of a stack of items placed on the pad together share one commit."""

from __future__ import annotations

import asyncio

from kiosk.core import Operation
from kiosk.journal.entry import Entry, NewEntry
from kiosk.journal.journal import Journal
from kiosk.journal.states import State
from server_api.circulation import Transaction


class GroupCommit:
    """Group commit for one event loop: records asked for together are made durable with one commit.

    `await record(...)` joins the group being gathered; the group is written (`Journal.record_many`, in a
    worker thread) once the event loop has run every callback already queued when its first record came:
    so the records of a stack of items placed on the pad together, whose tasks start (and, after a shared
    `unsettled()` read, resume) in the same loop turn, share one commit. Records that come while a group's
    commit is in progress form the next group, written as soon as that commit returns. Outcomes waiting
    to ride along go with the group's commit.

    Durability before send: a caller gets its entry only after the commit that holds its record has
    returned. If the group's commit fails, every caller in the group gets the error (none of its records
    is in the journal, so nothing may be sent). A caller cancelled before its group is written is left
    out of it; one cancelled while the commit is in progress may still have its record committed (like
    a cancelled `asyncio.to_thread`): it is then a SENDING or QUEUED entry that reconciliation or replay
    takes care of.

    Only the event loop's thread touches the group; the journal's own lock orders the commit against
    everything else that uses the journal from worker threads."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._group: list[tuple[NewEntry, asyncio.Future[Entry]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._readers: list[asyncio.Future[list[Entry]]] = []
        self._reads: set[asyncio.Task[None]] = set()  # shared reads in progress (a task needs an owner)

    async def record(
        self,
        txn: Transaction,
        operation: Operation,
        item_id: str,
        patron_id: str = "",
        *,
        state: State = State.SENDING,
    ) -> Entry:
        """`Journal.record`, committed together with the other records of this loop turn."""
        new = NewEntry(txn, operation, item_id, patron_id, state)  # a bad request fails alone, here
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Entry] = loop.create_future()
        self._group.append((new, done))
        if self._writer is None:
            # A task's first step runs after every callback already queued: the rest of the turn joins.
            self._writer = loop.create_task(self._write(), name="journal group commit")
        return await done

    async def _write(self) -> None:
        group: list[tuple[NewEntry, asyncio.Future[Entry]]] = []
        try:
            while self._group:
                # A caller cancelled before its group is written will not send: nothing to record.
                group = [(new, done) for new, done in self._group if not done.done()]
                self._group = []
                if not group:
                    continue
                try:
                    # Looked up at each call: the crash test wraps it to kill the process around it.
                    entries = await asyncio.to_thread(self.journal.record_many, [new for new, _ in group])
                except Exception as error:
                    # All or nothing: no record of the group is in the journal, so none may be sent.
                    for _, done in group:
                        if not done.done():
                            done.set_exception(error)
                else:
                    for (_, done), entry in zip(group, entries, strict=True):
                        if not done.done():
                            done.set_result(entry)
                group = []
        finally:
            self._writer = None
            for _, done in [*group, *self._group]:  # only left when this task was cancelled
                done.cancel()
            self._group.clear()

    async def unsettled(self) -> list[Entry]:
        """`Journal.unsettled()` read in a worker thread, one read shared by everyone who asks in the same
        loop turn: the tasks of a stack resume together and their records form one group. The read starts
        after each of them asked, so none gets an answer older than its question."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[list[Entry]] = loop.create_future()
        self._readers.append(answer)
        if len(self._readers) == 1:
            read = loop.create_task(self._read(), name="journal shared read")
            self._reads.add(read)
            read.add_done_callback(self._reads.discard)
        return list(await answer)

    async def _read(self) -> None:
        readers, self._readers = self._readers, []
        try:
            entries = await asyncio.to_thread(self.journal.unsettled)
        except BaseException as error:
            for answer in readers:
                if not answer.done():
                    if isinstance(error, asyncio.CancelledError):
                        answer.cancel()
                    else:
                        answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for answer in readers:
            if not answer.done():
                answer.set_result(entries)


__all__ = ["GroupCommit"]
