"""The event-loop writer: caseworkers' commands recorded without handing them to a thread.

The group-commit writer (`group_commit`) runs each batch in a thread on the event library's
synchronous PostgreSQL client. Every round trip there ends with the thread asking for the
interpreter lock back from a busy event loop, and every answer goes back through a thread hand-off:
under load that waiting, not the database, was most of a command's time (measured). This writer
does the same work as a task on the event loop with asyncpg, in two round trips per batch:

1. catch up: the events of the batch's cases newer than the copies held in memory (all of them for
   a case not held), one query, applied to the copies. So a copy another replica wrote meanwhile is
   brought up to date before a command runs on it (a client id another replica recorded is seen);
2. write: one statement, so one transaction: the cases' read rows upserted, then (by data
   dependency, so in this order, as the event library's recorder does) the events table locked in
   EXCLUSIVE mode, its channel notified and the events inserted, by `kaa_insert_events`.

Batches run at once, one per connection of the writer's pool, so a command waits for its own
batch's answers, not also for the batch before it; a case is in one batch at a time (a command on a
case another batch has in hand waits for that batch).

The events are the event library's own stored events (its mapper makes them, the same topic and
state), in the same table under the same lock, so the outbox relay, the audit replay and every
reader see exactly what they saw. A version another writer took first fails the insert on the
table's key (optimistic concurrency); the batch is then run again on fresh state. A command's
action runs on the event loop: only actions that do no I/O come here (`record_on_case`'s
`on_loop`); the others keep the group-commit writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from eventsourcing.persistence import StoredEvent

from shared.casework.domain import REFUSALS, CaseNotFound, ScopedYouthCase
from shared.eventstore import WRITE_ATTEMPTS

if TYPE_CHECKING:
    from shared.casework.adapters.store import CaseApplication

log = structlog.get_logger(__name__)
MAX_GROUP = 200
Connection = asyncpg.Connection | PoolConnectionProxy
FUNCTION = "kaa_insert_events"


@dataclass
class LoopCommand:
    youth_id: uuid.UUID
    tenant: str
    action: Callable[[Any], Any]
    in_scope_only: bool
    future: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _RunAlone(Exception):
    """A refusal left changes on a case: the batch is run again one command at a time."""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class LoopWriter:
    """Caseworkers' commands in batches, recorded by a task on the event loop (module docstring).

    Keeps its own copies of the cases it wrote (at most `KAA_COMMAND_CACHE_SIZE`, default 20,000):
    never the application's, which the consumer's thread changes.
    """

    def __init__(self, application: CaseApplication, pool: asyncpg.Pool) -> None:
        self.application = application
        self.pool = pool
        recorder: Any = application.recorder
        schema, table = recorder.datastore.schema, recorder.events_table_name
        self.schema, self.table, self.channel = schema, table, recorder.channel_name
        self.lock_timeout = int(recorder.datastore.lock_timeout)
        self._queue: asyncio.Queue[LoopCommand | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        # Batches run at once (each on a connection of the pool): a command waits for the
        # database's answer to its own batch, not for the batch before it too.
        self.runners = max(1, pool.get_max_size())
        self._in_hand: set[uuid.UUID] = set()  # the cases of the batches being run
        self._held: dict[uuid.UUID, list[LoopCommand]] = {}  # commands on those cases, waiting
        self._copies: OrderedDict[uuid.UUID, ScopedYouthCase] = OrderedDict()
        self._copies_max = int(application.env.get("KAA_COMMAND_CACHE_SIZE") or 20_000)
        # Identifiers quoted, every value a parameter: no request's text reaches the SQL.
        events = f"{_ident(schema)}.{_ident(table)}"
        self.catch_up_sql = (
            "SELECT e.originator_id, e.originator_version, e.topic, e.state"  # noqa: S608
            " FROM unnest($1::uuid[], $2::bigint[]) AS k(id, version)"
            f" JOIN {events} e ON e.originator_id = k.id AND e.originator_version > k.version"
            " ORDER BY e.originator_id, e.originator_version"
        )
        self.write_sql = self._write_statement()

    def _write_statement(self) -> str:
        insert = (
            f"{_ident(self.schema)}.{FUNCTION}($1::uuid[], $2::bigint[], $3::text[], $4::bytea[]"
        )
        shape = self.application.case_table
        if shape is None:
            return f"SELECT {insert}, 0)"
        table, columns = shape
        names = ", ".join(_ident(name) for name, _ in columns)
        arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(columns, start=5))
        key = _ident(columns[0][0])
        updates = ", ".join(f"{_ident(name)} = EXCLUDED.{_ident(name)}" for name, _ in columns[1:])
        # The events' insert waits for the rows' count: the rows are written first, as the
        # library's recorder writes read rows before it locks the events table (one lock order
        # for every writer, so two of them cannot wait for each other).
        return (
            f"WITH written AS (INSERT INTO {_ident(self.schema)}.{_ident(table)} ({names})"  # noqa: S608
            f" SELECT * FROM unnest({arrays}) ON CONFLICT ({key}) DO UPDATE SET {updates}"
            f" RETURNING 1) SELECT {insert}, (SELECT count(*) FROM written))"
        )

    async def start(self) -> None:
        """Make the insert function (the library's lock, notification and insert, as one call)
        and start the writing task."""
        schema, events = _ident(self.schema), f"{_ident(self.schema)}.{_ident(self.table)}"
        ddl = (
            f"CREATE OR REPLACE FUNCTION {schema}.{FUNCTION}(ids uuid[], versions bigint[],"  # noqa: S608
            " topics text[], states bytea[], written bigint) RETURNS bigint LANGUAGE plpgsql AS $$"
            f" BEGIN SET LOCAL lock_timeout = '{self.lock_timeout}s';"
            f" LOCK TABLE {events} IN EXCLUSIVE MODE; NOTIFY {_ident(self.channel)};"
            f" INSERT INTO {events} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(ids, versions, topics, states); RETURN written; END $$"
        )
        async with self.pool.acquire() as conn, conn.transaction():
            # The lock every service's schema set-up takes (shared/isolation.py).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'))")
            await conn.execute(ddl)
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"case-commands-on-loop-{n}")
            for n in range(self.runners)
        ]

    def submit(
        self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], Any], in_scope_only: bool
    ) -> asyncio.Future[Any]:
        if not self._tasks or all(task.done() for task in self._tasks):
            raise RuntimeError("the service is stopping; try again")
        command = LoopCommand(youth_id, tenant, action, in_scope_only)
        self._queue.put_nowait(command)
        return command.future

    async def close(self) -> None:
        """Finish the batches being written, then answer whatever still waits with an error."""
        if self._tasks:
            self._queue.put_nowait(None)  # each runner puts it back for the next
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*self._tasks)), timeout=10)
            for task in self._tasks:
                task.cancel()
            self._tasks = []
        waiting = [c for held in self._held.values() for c in held]
        while not self._queue.empty():
            queued = self._queue.get_nowait()
            if queued is not None:
                waiting.append(queued)
        self._held.clear()
        for command in waiting:
            if not command.future.done():
                command.future.set_exception(RuntimeError("the service is stopping; try again"))

    async def _loop(self) -> None:
        """One runner: takes the commands waiting, runs those whose case no other runner has in
        hand, and holds back the others until that runner is done with the case."""
        while True:
            first = await self._queue.get()
            if first is None:
                self._queue.put_nowait(None)
                return
            batch, stop = self._take(first)
            if not batch:  # all held back
                if stop:
                    self._queue.put_nowait(None)
                    return
                continue
            ids = {c.youth_id for c in batch}
            self._in_hand |= ids
            try:
                await self.run(batch)
            except BaseException as exc:  # the writer must outlive a bad batch
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.exception("a batch of case commands failed", commands=len(batch))
                self._answer_all(batch, exc)
            finally:
                self._in_hand -= ids
                for youth_id in ids:
                    for held in self._held.pop(youth_id, []):
                        self._queue.put_nowait(held)
            if stop:
                self._queue.put_nowait(None)
                return

    def _take(self, first: LoopCommand) -> tuple[list[LoopCommand], bool]:
        """The batch: the first command and those waiting behind it, but a command on a case
        another runner has in hand is held back (two runners never change one case at once)."""
        batch: list[LoopCommand] = []
        stop = False
        command: LoopCommand | None = first
        while command is not None:
            if command.youth_id in self._in_hand:
                self._held.setdefault(command.youth_id, []).append(command)
            else:
                batch.append(command)
            if len(batch) >= MAX_GROUP or self._queue.empty():
                break
            command = self._queue.get_nowait()
            stop = command is None
        return batch, stop

    @staticmethod
    def _answer_all(batch: list[LoopCommand], exc: BaseException) -> None:
        for command in batch:
            if not command.future.done():
                command.future.set_exception(exc)

    async def run(self, batch: list[LoopCommand]) -> None:
        """Run a batch and record it (retried on fresh state after a concurrent write); each
        command gets its own answer, a refusal refusing that command only."""
        try:
            outcomes = await self._retrying(batch)
        except _RunAlone:
            for command in batch:
                try:
                    [(ok, value)] = await self._retrying([command])
                except (_RunAlone, Exception) as exc:
                    ok, value = False, exc.__cause__ if isinstance(exc, _RunAlone) else exc
                self._answer(command, ok, value)
            return
        for command, (ok, value) in zip(batch, outcomes, strict=True):
            self._answer(command, ok, value)

    @staticmethod
    def _answer(command: LoopCommand, ok: bool, value: Any) -> None:
        if command.future.done():  # the caller went away (a cancelled request)
            return
        if ok:
            command.future.set_result(value)
        else:
            command.future.set_exception(value)

    async def _retrying(self, batch: list[LoopCommand]) -> list[tuple[bool, Any]]:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return await self._attempt(batch)
            except asyncpg.UniqueViolationError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _attempt(self, batch: list[LoopCommand]) -> list[tuple[bool, Any]]:
        ids = list(dict.fromkeys(c.youth_id for c in batch))
        try:
            async with self.pool.acquire() as conn:
                cases = await self._catch_up(conn, ids)
                outcomes, touched = self._run_actions(batch, cases)
                await self._write(conn, touched)
        except BaseException:
            for youth_id in ids:  # they may hold changes that were not saved
                self._copies.pop(youth_id, None)
            raise
        for case in touched:
            self._keep(case)
        self.application.forget_later([case.id for case in touched])
        return outcomes

    async def _catch_up(
        self, conn: Connection, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, ScopedYouthCase | None]:
        cases: dict[uuid.UUID, ScopedYouthCase | None] = {i: self._copies.get(i) for i in ids}
        versions = [case.version if case is not None else 0 for case in cases.values()]
        mapper = self.application.mapper
        own = {i: i for i in ids}  # the ids as given (asyncpg's rows carry a UUID of its own)
        for row in await conn.fetch(self.catch_up_sql, ids, versions):
            youth_id = own[row[0]]
            stored = StoredEvent(originator_id=youth_id, originator_version=row[1], topic=row[2],
                                 state=bytes(row[3]))  # fmt: skip
            event: Any = mapper.to_domain_event(stored)
            cases[youth_id] = event.mutate(cases[youth_id])
        return cases

    def _run_actions(
        self, batch: list[LoopCommand], cases: dict[uuid.UUID, ScopedYouthCase | None]
    ) -> tuple[list[tuple[bool, Any]], list[ScopedYouthCase]]:
        """Each command's action on its case (checked to be the tenant's, in scope unless not
        asked): its answer, or the refusal it met; and the cases that ran a command."""
        outcomes: list[tuple[bool, Any]] = []
        touched: dict[uuid.UUID, ScopedYouthCase] = {}
        for command in batch:
            case = cases.get(command.youth_id)
            before = len(case.pending_events) if case is not None else 0
            try:
                if case is None or not isinstance(case, self.application.case_class):
                    raise CaseNotFound
                case.check_tenant(command.tenant)
                if command.in_scope_only:
                    case.check_in_scope()
                outcomes.append((True, command.action(case)))
                touched[case.id] = case
            except REFUSALS as refusal:
                if case is not None and len(case.pending_events) != before:
                    raise _RunAlone from refusal
                outcomes.append((False, refusal))
        return outcomes, list(touched.values())

    async def _write(self, conn: Connection, cases: list[ScopedYouthCase]) -> None:
        mapper = self.application.mapper
        stored = [mapper.to_stored_event(e) for case in cases for e in case.collect_events()]
        if not stored:
            return  # nothing new (a retried request): nothing to write
        arguments: list[Any] = [
            [e.originator_id for e in stored],
            [e.originator_version for e in stored],
            [e.topic for e in stored],
            [e.state for e in stored],
        ]
        if self.application.case_table is not None:
            rows = self.application.case_rows(cases)
            columns = len(self.application.case_table[1])
            arguments += [[row[n] for row in rows] for n in range(columns)]
        await conn.fetchval(self.write_sql, *arguments)

    def _keep(self, case: ScopedYouthCase) -> None:
        self._copies[case.id] = case
        self._copies.move_to_end(case.id)
        while len(self._copies) > self._copies_max:
            self._copies.popitem(last=False)
