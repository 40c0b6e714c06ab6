"""The youth case as outreach and measures both keep it: which municipality, whether in scope now.

Both services learn scope from identify's `YouthIdentified` / `YouthLeftScope` and refuse work on a
youth who is not in their municipality's scope. The case is looked up by youth id and checked against
the caller's tenant, and a youth of another municipality is reported as not found (its existence is
not disclosed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar, cast

import structlog
from eventsourcing.domain import Aggregate, event

from shared import dates
from shared.contracts.events import SchoolNotificationReceived, YouthIdentified, YouthLeftScope
from shared.crypto import DataKeyCache, TenantKeys, YouthSealer, key_for, stored_key
from shared.eventstore import KafkaFedApplication


class CaseNotFound(LookupError):
    """No such youth in the caller's municipality."""


class NotInScope(RuntimeError):
    """The youth is known but not in the municipality's activity responsibility now."""


class CommandRefused(ValueError):
    """A command the domain refuses before anything is recorded: the field and the reason.

    `conflict` marks a refusal because of the case's state (a transition that is not allowed,
    409) rather than because of the input itself (422).
    """

    def __init__(self, field: str, reason: str, *, conflict: bool = False) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.conflict = conflict


REFUSALS: tuple[type[BaseException], ...] = (
    CaseNotFound,
    NotInScope,
    CommandRefused,
    dates.ImplausibleDate,
)


class ScopedYouthCase(Aggregate):
    """Base of a service's case aggregate. A subclass declares its creation event, calling
    `_start_case`, because the library derives each aggregate class's created event from that
    class's own `__init__`:

        @event("Opened")
        def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
            self._start_case(tenant)
    """

    @classmethod
    def open(cls, youth_id: uuid.UUID, tenant: str) -> ScopedYouthCase:
        return cls(youth_id=youth_id, tenant=tenant)  # type: ignore[call-arg]

    @staticmethod
    def create_id(youth_id: uuid.UUID, tenant: str) -> uuid.UUID:
        return youth_id

    def _start_case(self, tenant: str) -> None:
        # Plain attributes: class-level annotations would become fields of the created event.
        self.tenant: str = tenant
        self.open_episode: str | None = None
        self.closed_episodes: list[str] = []
        self.entered_on: date | None = None
        # The day identify recorded the episode: when the municipality could know of it.
        self.identified_on: date | None = None
        self.scope_ends_on: date | None = None
        self.left_on: date | None = None
        self.left_reason: str | None = None

    @property
    def in_scope(self) -> bool:
        return self.open_episode is not None

    @property
    def born_on_or_after(self) -> date | None:
        """The earliest day the youth can have been born: 20 years before scope ends at the latest
        (the 20th birthday; a leap-day child's falls on 28 February)."""
        ends = self.scope_ends_on
        return None if ends is None else ends.replace(year=ends.year - 20)

    def check_date(
        self,
        field: str,
        value: date | datetime | None,
        *,
        today: date | None = None,
        since_law: bool = True,
    ) -> None:
        """Refuse a date about the youth that cannot be true (`shared.dates`): before 1900, before
        2015-01-01 (`since_law`), before the youth was born, after `today` when given."""
        dates.check(field, value, today=today, born=self.born_on_or_after, since_law=since_law)

    def on_identify_event(self, message: Any) -> None:
        """Take in one of identify's events (scope opened or closed, a school notification)."""
        if isinstance(message, YouthIdentified):
            self.on_identified(message)
        elif isinstance(message, YouthLeftScope):
            self.on_left_scope(message)
        elif isinstance(message, SchoolNotificationReceived):
            self.on_school_notification(message)

    def on_identified(self, message: YouthIdentified) -> None:
        episode = str(message.scope_episode_id)
        if episode != self.open_episode and episode not in self.closed_episodes:
            self._scope_opened(
                episode,
                message.entered_on,
                message.event_id,
                message.scope_ends_on,
                message.identified_on,
            )

    def on_left_scope(self, message: YouthLeftScope) -> None:
        episode = str(message.scope_episode_id)
        if episode not in self.closed_episodes:
            self._scope_closed(episode, message.left_on, message.reason, message.event_id)

    def on_school_notification(self, message: SchoolNotificationReceived) -> None:
        """A school's notification about the youth; what it means is the subclass's business."""

    @event("ScopeOpened")
    def _scope_opened(
        self,
        scope_episode_id: str,
        entered_on: date,
        cause: uuid.UUID,
        scope_ends_on: date | None = None,
        identified_on: date | None = None,
    ) -> None:
        self.open_episode = scope_episode_id
        self.entered_on = entered_on
        self.identified_on = identified_on
        self.scope_ends_on = scope_ends_on
        self.left_on = None
        self.left_reason = None
        self.scope_opened()

    def scope_opened(self) -> None:
        """Hook: a new scope episode began (state only; runs inside the event's apply)."""

    @event("ScopeClosed")
    def _scope_closed(
        self, scope_episode_id: str, left_on: date, reason: str, cause: uuid.UUID
    ) -> None:
        self.closed_episodes.append(scope_episode_id)
        if self.open_episode == scope_episode_id:
            self.open_episode = None
            self.left_on = left_on
            self.left_reason = reason

    def check_tenant(self, tenant: str) -> None:
        if tenant != self.tenant:
            raise CaseNotFound

    def check_in_scope(self) -> None:
        if not self.in_scope:
            raise NotInScope


RULES_CACHE_SECONDS = 5.0
_RULES_NAMESPACE = uuid.UUID("5b0f3c1e-8a57-4d2b-9c1a-6f0e2d7b4a93")


class TenantRules(Aggregate):
    """A municipality's own time rules for casework (no statutory day limits exist; DOMAIN.md
    section 4), set by its coordinators. Every change is an event: the rules in force on any
    past day can be shown."""

    @staticmethod
    def create_id(tenant: str, rules: dict[str, int], actor: str) -> uuid.UUID:
        return uuid.uuid5(_RULES_NAMESPACE, tenant)

    @event("Configured")
    def __init__(self, tenant: str, rules: dict[str, int], actor: str) -> None:
        self.tenant = tenant
        self.rules = dict(rules)

    @event("Reconfigured")
    def reconfigure(self, rules: dict[str, int], actor: str) -> None:
        self.rules = {**self.rules, **rules}


@dataclass(frozen=True)
class Rule:
    default: int
    minimum: int
    maximum: int
    description: str


log = structlog.get_logger(__name__)
C = TypeVar("C", bound=ScopedYouthCase)
R = TypeVar("R")
MAX_GROUP = 200


class _RunAlone(Exception):
    """A batch must be run one command at a time."""


@dataclass
class Command:
    youth_id: uuid.UUID
    tenant: str
    action: Callable[[Any], Any]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class CommandQueue:
    """One writer thread takes the commands waiting and hands them over as a batch."""

    def __init__(self, run: Callable[[list[Command]], None]) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(
        self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], Any]
    ) -> concurrent.futures.Future[Any]:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="case-commands", daemon=True
                )
                self._thread.start()
        command = Command(youth_id, tenant, action)
        self._queue.put(command)
        return command.future

    def stop(self) -> None:
        """Finish the batch being written, then answer whatever still waits with an error."""
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None
            self._refuse_waiting()

    def _refuse_waiting(self) -> None:
        while True:
            try:
                waiting = self._queue.get_nowait()
            except queue.Empty:
                return
            if waiting is not None and not waiting.future.done():
                waiting.future.set_exception(RuntimeError("the service is stopping; try again"))

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._run(batch)
            except BaseException as exc:  # the writer must outlive a bad batch
                log.exception("a batch of case commands failed", commands=len(batch))
                for command in batch:
                    if not command.future.done():
                        command.future.set_exception(exc)
            if stop:
                return


class CaseApplication(KafkaFedApplication):
    """An event store of youth cases, fed with identify's events, commanded over HTTP."""

    # Read tables (in the service's schema) the query API reads, under row-level security.
    read_tables: tuple[str, ...] = ()
    # The municipalities' key-encryption keys, for services that seal what they record.
    tenant_keys: TenantKeys | None = None

    case_class: type[ScopedYouthCase] = ScopedYouthCase
    rule_book: ClassVar[dict[str, Rule]] = {}

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        self._rules_cache: dict[str, tuple[float, dict[str, int]]] = {}
        self._commands = CommandQueue(self.run_commands)
        # The youths' data keys this process seals with (bounded in number and age, so a key
        # retention destroyed leaves memory too).
        self.data_keys = DataKeyCache()
        self._data_keys_lock = threading.Lock()  # the writer thread and request threads share it

    def sealer(self, tenant: str, youth_id: uuid.UUID) -> YouthSealer:
        """What seals the youth's free text: their data key from memory, else from the keyring
        (made there if the youth has none yet). Blocking on a miss; call it for a case already
        checked to be the caller's, so no key is made for a youth that is not."""
        return YouthSealer(self.data_key(tenant, youth_id), tenant, youth_id)

    def data_key(self, tenant: str, youth_id: uuid.UUID) -> bytes:
        """The youth's data key for sealing: from memory, else from the keyring (made there if
        the youth has none yet). Blocking on a miss."""
        if self.tenant_keys is None:
            raise RuntimeError("tenant keys: not configured")
        with self._data_keys_lock:
            key = self.data_keys.get(tenant, youth_id)
        if key is None:
            with self.recorder.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
                key = key_for(cursor, self.tenant_keys, tenant, youth_id)
            with self._data_keys_lock:
                self.data_keys.put(tenant, youth_id, key)
        return key

    def stored_data_key(self, tenant: str, youth_id: uuid.UUID) -> bytes | None:
        """The youth's data key as the keyring holds it now, for opening text in a view: read
        afresh (not from memory), so a key retention destroyed opens nothing from that moment;
        None when there is none. Blocking."""
        if self.tenant_keys is None:
            raise RuntimeError("tenant keys: not configured")
        with self.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            return stored_key(cursor, self.tenant_keys, tenant, youth_id)

    def close(self) -> None:
        self._commands.stop()
        super().close()

    def rules(self, tenant: str) -> dict[str, int]:
        """The tenant's rules: the documented defaults, overridden by what its coordinators set.

        Read on every worklist request, so kept for RULES_CACHE_SECONDS; a change made through
        this process applies at once, one made through another replica within that time.
        """
        cached = self.cached_rules(tenant)
        if cached is not None:
            return cached
        configured: TenantRules | None = self.get_or_none(uuid.uuid5(_RULES_NAMESPACE, tenant), {})
        rules = {name: rule.default for name, rule in self.rule_book.items()}
        if configured is not None:
            rules.update({k: v for k, v in configured.rules.items() if k in rules})
        self._rules_cache[tenant] = (time.monotonic(), rules)
        return dict(rules)

    def cached_rules(self, tenant: str) -> dict[str, int] | None:
        """The tenant's rules if known in memory (no I/O: callable on the event loop)."""
        cached = self._rules_cache.get(tenant)
        if cached is None or time.monotonic() - cached[0] >= RULES_CACHE_SECONDS:
            return None
        return dict(cached[1])

    def configure_rules(self, tenant: str, changes: dict[str, int], actor: str) -> dict[str, int]:
        for name, value in changes.items():
            rule = self.rule_book.get(name)
            if rule is None:
                raise CommandRefused(name, f"no such rule; known: {', '.join(self.rule_book)}")
            if not rule.minimum <= value <= rule.maximum:
                raise CommandRefused(name, f"must be between {rule.minimum} and {rule.maximum}")

        def work() -> dict[str, int]:
            rules_id = uuid.uuid5(_RULES_NAMESPACE, tenant)
            configured: TenantRules | None = self.get_or_none(rules_id, {})
            if configured is None:
                configured = TenantRules(tenant, dict(changes), actor)
            else:
                configured.reconfigure(dict(changes), actor)
            self.save_tracked([configured], None, 0, 0)
            self._rules_cache.pop(tenant, None)
            return self.rules(tenant)

        return cast(dict[str, int], self.retrying(work))

    def take_in_identify_batch(
        self, messages: list[Any], topic: str, partition: int, next_offset: int
    ) -> None:
        self.retrying_tracked(
            lambda: self._apply_identify_batch(messages, topic, partition, next_offset),
            topic,
            partition,
            next_offset,
        )

    def _apply_identify_batch(
        self, messages: list[Any], topic: str, partition: int, next_offset: int
    ) -> None:
        relevant = [
            m
            for m in messages
            if isinstance(m, YouthIdentified | YouthLeftScope | SchoolNotificationReceived)
        ]
        cache: dict[uuid.UUID, ScopedYouthCase] = {}
        self.preload((m.youth_id for m in relevant), cache)
        for message in relevant:
            case: ScopedYouthCase | None = self.get_or_none(message.youth_id, cache)
            if case is None:
                case = self.case_class.open(message.youth_id, message.tenant)
                cache[message.youth_id] = case
            case.on_identify_event(message)
        cases = [c for c in cache.values() if c is not None]
        self.save_tracked(cases, topic, partition, next_offset, read_model=self.read_model(cases))

    def read_model(self, cases: list[Any]) -> list[tuple[Any, list[Any]]]:
        """Hook: read-table rows for these cases, written in the same transaction (none here)."""
        return []

    def command(self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], R]) -> R:
        """Load the case, check tenant and scope, run `action`, save; retried on a concurrent write.

        Blocking; `submit()` is the same for a caller on an event loop.
        """
        return cast(R, self._commands.submit(youth_id, tenant, action).result())

    def submit(
        self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], R]
    ) -> asyncio.Future[R]:
        """`command()` for the event loop: the answer arrives when the command is saved."""
        return asyncio.wrap_future(self._commands.submit(youth_id, tenant, action))

    def run_commands(self, batch: list[Command]) -> None:
        """Run a batch of commands and save them in one transaction (group commit).

        Caseworkers' commands that arrive while a transaction is being written wait for the next
        one and share it, so one transaction's fixed cost (the table lock, the commit) is paid
        once per batch, not once per command. Each command gets its own answer: a refusal refuses
        that command only. A refusal that left changes behind (the domain checks before it
        records, so it should not happen) sends the batch through again one command at a time.
        """
        try:
            outcomes = self.retrying(lambda: self._run_batch(batch))
        except _RunAlone:
            for command in batch:
                self.run_commands_alone(command)
            return
        except BaseException as exc:
            for command in batch:
                command.future.set_exception(exc)
            return
        assert outcomes is not None
        for command, (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                command.future.set_result(value)
            else:
                command.future.set_exception(value)

    def run_commands_alone(self, command: Command) -> None:
        try:
            [(ok, value)] = self.retrying(lambda: self._run_batch([command])) or []
        except BaseException as exc:
            ok, value = False, exc
        if ok:
            command.future.set_result(value)
        else:
            command.future.set_exception(value)

    def _run_batch(self, batch: list[Command]) -> list[tuple[bool, Any]]:
        cache: dict[uuid.UUID, Any] = {}
        self.preload((c.youth_id for c in batch), cache, verify=True)
        outcomes: list[tuple[bool, Any]] = []
        touched: dict[uuid.UUID, ScopedYouthCase] = {}
        for command in batch:
            case: ScopedYouthCase | None = cache.get(command.youth_id)
            before = len(case.pending_events) if case is not None else 0
            try:
                if case is None:
                    raise CaseNotFound
                case.check_tenant(command.tenant)
                case.check_in_scope()
                outcomes.append((True, command.action(case)))
                touched[case.id] = case
            except REFUSALS as refusal:
                if case is not None and len(case.pending_events) != before:
                    self.forget(case.id)
                    raise _RunAlone from refusal
                outcomes.append((False, refusal))
        cases = list(touched.values())
        self.save_tracked(cases, None, 0, 0, read_model=self.read_model(cases))
        return outcomes

    def case_of(self, youth_id: uuid.UUID, tenant: str) -> Any:
        """The caller's case for reading (in scope or not); CaseNotFound for another tenant's."""
        case: ScopedYouthCase | None = self.get_or_none(youth_id, {})
        if case is None:
            raise CaseNotFound
        case.check_tenant(tenant)
        return case
