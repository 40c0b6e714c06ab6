"""Use cases every caseworker service has, callable alike from HTTP, Kafka, the CLI and tests: take
in identify's events, run a recording command on the caller's case, the dates casework may carry,
the municipality's rules, the access log of what was read.

Refusals are the domain's (`shared.casework.domain`): the entrypoints map them to their answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from shared import access_log, dates
from shared.casework.adapters.reader import RememberedTenant
from shared.casework.adapters.store import CaseApplication
from shared.casework.domain import IDENTIFY_INPUTS, CommandRefused, ScopedYouthCase
from shared.isolation import TenantScoped
from shared.logs import correlation_id as current_correlation_id

C = TypeVar("C", bound=ScopedYouthCase)
A = TypeVar("A", bound=CaseApplication)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
CLOCK_SKEW = timedelta(minutes=5)


class Caller(Protocol):
    """Who runs a command: the municipality whose case it is and the actor recorded (a token's
    principal over HTTP; `Actor` elsewhere)."""

    @property
    def tenant(self) -> str: ...

    @property
    def actor(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """A caller outside HTTP: a CLI's operator, a consumer, a test (`actor` as recorded, e.g.
    `user:<subject>` or `system:<name>`)."""

    tenant: str
    actor: str


@dataclass(frozen=True)
class CaseClock:
    """What day it is for casework: Stockholm's, or the day the settings fix (tests, demos)."""

    fixed_today: date | None = None

    def today(self) -> date:
        return self.fixed_today or datetime.now(STOCKHOLM).date()

    def now(self) -> datetime:
        """This instant, on the day the settings fix if they do (the time of day is the real
        one): the default time of what a caseworker records as happening now."""
        real = datetime.now(STOCKHOLM)
        if self.fixed_today is None:
            return real
        return datetime.combine(self.fixed_today, real.timetz())

    def check_past(self, field: str, value: date | datetime) -> None:
        """Refuse a date of something that has happened (casework under the activity
        responsibility) that cannot be true: in the future, before 2015-01-01, before 1900
        (`shared.dates`, the one rule)."""
        now = datetime.now(UTC) + CLOCK_SKEW
        if isinstance(value, datetime) and self.fixed_today is None and value > now:
            raise CommandRefused(field, "is in the future")
        dates.check(field, value, today=self.today(), since_law=True)

    @staticmethod
    def check_dates(values: dict[str, date | None]) -> None:
        """Refuse a date of casework (a plan's, a measure's) that cannot be true whether past or
        future: before 2015-01-01 or before 1900 (`shared.dates`)."""
        for field, value in values.items():
            dates.check(field, value, since_law=True)


class CaseRuntime(Generic[A]):
    """What a caseworker service's handlers run on once the service has started: its event store
    and the pool its read tables are read with (row-level security). Made empty by the
    composition root, filled when the service starts: a handler refuses its input before it
    touches either."""

    def __init__(self) -> None:
        self._application: A | None = None
        self._pool: asyncpg.Pool | None = None
        self.schema = ""

    def start(self, application: A, pool: asyncpg.Pool, schema: str) -> None:
        self._application, self._pool, self.schema = application, pool, schema

    @property
    def application(self) -> A:
        if self._application is None:
            raise RuntimeError("the service has not started")
        return self._application

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the service has not started")
        return self._pool

    def scoped(self, tenant: str) -> TenantScoped:
        """The read pool as the municipality (row-level security), set on a connection only when
        it is not known to hold it (`adapters.reader`)."""
        return RememberedTenant(self.pool, tenant)


def take_in_identify_batch(
    application: CaseApplication, messages: list[Any], topic: str, partition: int, next_offset: int
) -> None:
    """Identify's events (scope opened or closed, a school's notification) on the youths' cases,
    a case opened for a youth not seen before; saved with the partition's position, once (a batch
    whose position is already stored is skipped). Blocking: the consumer's thread calls it."""

    def work() -> None:
        relevant = [m for m in messages if isinstance(m, IDENTIFY_INPUTS)]
        cache: dict[uuid.UUID, ScopedYouthCase] = {}
        application.preload((m.youth_id for m in relevant), cache)
        for message in relevant:
            case: ScopedYouthCase | None = application.get_or_none(message.youth_id, cache)
            if case is None:
                case = application.case_class.open(message.youth_id, message.tenant)
                cache[message.youth_id] = case
            case.on_identify_event(message)
        # Only the cases this batch changed: a case it held without a change (a redelivered
        # event) may be an older copy than the database's (another replica recorded since), and
        # its read row written from it would take that back.
        cases = [c for c in cache.values() if c is not None and c.pending_events]
        also = application.identify_rows(messages) if application.identify_rows else None
        application.save_cases(cases, topic, partition, next_offset, also)

    application.retrying_tracked(work, topic, partition, next_offset)


async def record_access(
    scoped: TenantScoped, tenant: str, actor: str, youth_id: uuid.UUID, what: str, service: str
) -> None:
    """The access log entry of a read of a youth's casework (shared/access_log.py)."""
    async with scoped.acquire() as conn:
        entry = access_log.Access(tenant, actor, "casework", what, service)
        await access_log.record(conn, entry, [youth_id])


async def record_on_case(
    application: CaseApplication,
    youth_id: uuid.UUID,
    tenant: str,
    case_class: type[C],
    record: Callable[[C, uuid.UUID], bool],
    correlation_id: uuid.UUID | None = None,
    *,
    in_scope_only: bool = True,
) -> bool:
    """Run a recording command on the municipality's case of the youth, through the group-commit
    writer (off the event loop): the case is loaded, checked to be the tenant's and in scope, and
    saved with what `record(case, correlation_id)` recorded. `in_scope_only` False skips the
    scope check: for putting right what was recorded while the youth was in scope (a correction,
    a withdrawal), which the record needs after the youth left too.

    Returns what `record` returns: False when the thing was already recorded (a retry). Raises
    `CaseNotFound`, `NotInScope`, `CommandRefused` or `dates.ImplausibleDate`.
    """
    correlation = correlation_id or current_correlation_id()  # the request's: events carry it

    def action(case: Any) -> bool:
        if not isinstance(case, case_class):
            raise TypeError(f"expected a {case_class.__name__}")
        return record(case, correlation)

    if in_scope_only:  # the writer's default, so an application without the option serves it
        recorded: bool = await application.submit(youth_id, tenant, action)
    else:
        recorded = await application.submit(youth_id, tenant, action, in_scope_only=False)
    return recorded


async def rules_of(application: CaseApplication, tenant: str) -> dict[str, int]:
    """The tenant's rules: from memory when fresh, else read off the event loop."""
    cached = application.cached_rules(tenant)
    if cached is not None:
        return cached
    return await asyncio.to_thread(application.rules, tenant)


async def configure_rules(
    application: CaseApplication, tenant: str, changes: dict[str, int], actor: str
) -> dict[str, int]:
    """Set some of the municipality's time rules (each checked against its bounds); the rules
    in force afterwards."""
    return await asyncio.to_thread(application.configure_rules, tenant, changes, actor)


async def rules_history(application: CaseApplication, tenant: str) -> list[dict[str, Any]]:
    """Every change of the municipality's time rules, oldest first (read off the event loop)."""
    return await asyncio.to_thread(application.rules_history, tenant)
