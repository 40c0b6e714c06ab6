"""The event store of youth cases (outreach's, measures'): loads and saves the cases identify's
events and caseworkers' commands change (the latter through the group-commit writer), keeping the
municipalities' time rules and the youths' data keys."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar, cast

from shared.casework.adapters.group_commit import Command, CommandQueue
from shared.casework.domain import (
    REFUSALS,
    CaseNotFound,
    CommandRefused,
    Rule,
    ScopedYouthCase,
    TenantRules,
    rules_id,
)
from shared.crypto import DataKeyCache, TenantKeys, YouthSealer, key_for, stored_key
from shared.eventstore import KafkaFedApplication

R = TypeVar("R")
RULES_CACHE_SECONDS = 5.0


class _RunAlone(Exception):
    """A batch must be run one command at a time."""


class CaseApplication(KafkaFedApplication):
    """An event store of youth cases, fed with identify's events, commanded over HTTP."""

    # Read tables (in the service's schema) the query API reads, under row-level security.
    read_tables: tuple[str, ...] = ()
    # The municipalities' key-encryption keys, for services that seal what they record.
    tenant_keys: TenantKeys | None = None

    case_class: type[ScopedYouthCase] = ScopedYouthCase
    rule_book: ClassVar[dict[str, Rule]] = {}
    # Further read rows a service keeps from a batch of identify's events, written in the batch's
    # transaction (outreach: the youths' sealed personal details, for letters); set at start.
    identify_rows: Callable[[list[Any]], list[tuple[Any, list[Any]]]] | None = None

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
        configured: TenantRules | None = self.read(rules_id(tenant))  # not the writer's object
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

    def rules_history(self, tenant: str) -> list[dict[str, Any]]:
        """Every change of the tenant's rules as stored (each an event), oldest first: when, who,
        and each rule it changed, from what to what. Blocking."""
        values = {name: rule.default for name, rule in self.rule_book.items()}
        history: list[dict[str, Any]] = []
        for stored in self.events.get(rules_id(tenant)):
            given = {k: v for k, v in dict(getattr(stored, "rules", {})).items() if k in values}
            changed = {k: {"from": values[k], "to": v} for k, v in given.items() if values[k] != v}
            values.update(given)
            history.append({"at": getattr(stored, "timestamp", None), "actor": getattr(stored, "actor", None),
                            "version": stored.originator_version, "changes": changed})  # fmt: skip
        return history

    def configure_rules(self, tenant: str, changes: dict[str, int], actor: str) -> dict[str, int]:
        for name, value in changes.items():
            rule = self.rule_book.get(name)
            if rule is None:
                raise CommandRefused(name, f"no such rule; known: {', '.join(self.rule_book)}")
            if not rule.minimum <= value <= rule.maximum:
                raise CommandRefused(name, f"must be between {rule.minimum} and {rule.maximum}")

        def work() -> dict[str, int]:
            configured: TenantRules | None = self.get_or_none(rules_id(tenant), {})
            if configured is None:
                configured = TenantRules(tenant, dict(changes), actor)
            else:
                configured.reconfigure(dict(changes), actor)
            self.save_tracked([configured], None, 0, 0)
            self._rules_cache.pop(tenant, None)
            return self.rules(tenant)

        return cast(dict[str, int], self.retrying(work))

    def save_cases(
        self,
        cases: list[Any],
        topic: str | None,
        partition: int,
        next_offset: int,
        also: list[tuple[Any, list[Any]]] | None = None,
    ) -> None:
        """Save the cases with their read-table rows in one transaction, and the position of the
        input they came from (`topic` None: a caseworker's command, no position); `also`, further
        read rows written in the same transaction."""
        read_model = self.read_model(cases) + (also or [])
        self.save_tracked(cases, topic, partition, next_offset, read_model=read_model)

    def read_model(self, cases: list[Any]) -> list[tuple[Any, list[Any]]]:
        """Hook: read-table rows for these cases, written in the same transaction (none here)."""
        return []

    def command(self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], R]) -> R:
        """Load the case, check tenant and scope, run `action`, save; retried on a concurrent write.

        Blocking; `submit()` is the same for a caller on an event loop.
        """
        return cast(R, self._commands.submit(youth_id, tenant, action).result())

    def submit(
        self,
        youth_id: uuid.UUID,
        tenant: str,
        action: Callable[[Any], R],
        *,
        in_scope_only: bool = True,
    ) -> asyncio.Future[R]:
        """`command()` for the event loop: the answer arrives when the command is saved.
        `in_scope_only` False runs `action` on a case out of scope too (a correction)."""
        future = self._commands.submit(youth_id, tenant, action, in_scope_only=in_scope_only)
        return asyncio.wrap_future(future)

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
                if command.in_scope_only:
                    case.check_in_scope()
                outcomes.append((True, command.action(case)))
                touched[case.id] = case
            except REFUSALS as refusal:
                if case is not None and len(case.pending_events) != before:
                    self.forget(case.id)
                    raise _RunAlone from refusal
                outcomes.append((False, refusal))
        # A command that changed nothing (a retry) writes no row from a copy that may be older.
        self.save_cases([c for c in touched.values() if c.pending_events], None, 0, 0)
        return outcomes

    def case_of(self, youth_id: uuid.UUID, tenant: str) -> Any:
        """The caller's case for reading (in scope or not), a copy taken between two writes
        (`read`); CaseNotFound for another tenant's."""
        case: ScopedYouthCase | None = self.read(youth_id)
        if case is None:
            raise CaseNotFound
        case.check_tenant(tenant)
        return case
