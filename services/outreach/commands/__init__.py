"""The outreach service's use cases: record contact work, occupations, contact details and who owns
the case; show a case and the worklists. Callable alike from HTTP, Kafka, the CLI and tests:

    handlers = OutreachHandlers(runtime, CaseClock())
    await handlers.attempt_contact(Actor("0180", "user:anna"), AttemptContact(youth_id, ...))

A command is checked before the case is touched; the case is loaded, checked to be the caller's
municipality's and in scope, and saved through the group-commit writer (`shared.casework`).
Refusals are the domain's: `CaseNotFound` (another municipality's youth, or none), `NotInScope`,
`CommandRefused` (naming the field and the reason; `conflict` for a state that forbids it) and
`dates.ImplausibleDate`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from services.outreach.adapters.store import OutreachApplication
from services.outreach.adapters.worklists import Item, ListName, counts, worklist
from services.outreach.domain import OutreachCase
from services.outreach.domain.clock import contact_clock
from shared.casework.commands import (
    Caller,
    CaseClock,
    CaseRuntime,
    record_access,
    record_on_case,
    rules_of,
)
from shared.casework.domain import CommandRefused
from shared.codelists import code_list
from shared.contracts.events import (
    ContactChannel,
    ContactDetails,
    ContactOutcome,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    OccupationTense,
)

SERVICE = "outreach"


@dataclass(frozen=True)
class AttemptContact:
    youth_id: uuid.UUID
    channel: ContactChannel
    outcome: ContactOutcome
    attempted_at: datetime
    # Client-chosen: a retry with it records once; the same id with other content is refused.
    contact_attempt_id: uuid.UUID | None = None


@dataclass(frozen=True)
class EstablishContact:
    youth_id: uuid.UUID
    at: datetime
    channel: ContactChannel
    contact_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Inform:
    youth_id: uuid.UUID
    at: datetime
    channel: ContactChannel
    information_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RecordOccupation:
    youth_id: uuid.UUID
    category: str
    tense: OccupationTense
    from_date: date
    to_date: date | None = None
    confirmed_on: date | None = None  # default: today
    occupation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class RecordContactDetails:
    youth_id: uuid.UUID
    details: ContactDetails


@dataclass(frozen=True)
class Assign:
    youth_id: uuid.UUID
    assignee_kind: str
    assignee: str  # a caseworker as 'user:<subject>', a team by its code


@dataclass(frozen=True)
class Recorded:
    """What a command did: `recorded` is False when it had been recorded already (a retry)."""

    youth_id: uuid.UUID
    recorded: bool


@dataclass(frozen=True)
class AttemptRecorded(Recorded):
    contact_attempt_id: uuid.UUID  # the client's, or made


@dataclass(frozen=True)
class OccupationRecorded(Recorded):
    occupation_id: uuid.UUID  # the client's, or made
    code_list_version: str  # of the occupation code list on the day it was confirmed


@dataclass(frozen=True)
class CaseShown:
    """A youth's outreach case as a caseworker sees it, with the contact clock's figures."""

    case: OutreachCase
    contact_clock: dict[str, Any] | None
    occupation: str  # the current occupation's code, or 'unknown'


# Whose cases a list holds, from the caller's side: their own ('me', as `mine`), their teams'
# (cases assigned to one of the teams their token names), or nobody's yet ('none').
Assigned = Literal["me", "my_teams", "none"]


@dataclass(frozen=True)
class WorklistQuery:
    name: ListName
    assignee: str | None = None
    mine: bool = False  # only cases assigned to the caller (wins over `assignee`)
    closed: bool = False  # the items closed in the last 90 days because the youth left scope
    limit: int = 50
    offset: int = 0
    assigned: Assigned | None = None  # contradicting `mine` or `assignee`: 422 naming it
    teams: frozenset[str] = frozenset()  # the caller's teams (their token's), for 'my_teams'


def holder(
    caller: Caller,
    *,
    mine: bool = False,
    assignee: str | None = None,
    assigned: Assigned | None = None,
    teams: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The worklist filter on the holder a caller asks for (`adapters.worklists.worklist`'s
    `assignee`, `teams`, `unassigned`); asking for two different holders at once is refused
    naming `assigned`."""
    if assigned is not None and assignee is not None:
        raise CommandRefused("assigned", "give either assigned or assignee, not both")
    if assigned not in (None, "me") and mine:
        raise CommandRefused("assigned", "contradicts mine=true (the caller's own cases)")
    if mine or assigned == "me":
        return {"assignee": caller.actor}
    if assigned == "none":
        return {"unassigned": True}
    if assigned == "my_teams":
        if not teams:
            raise CommandRefused("assigned", "the caller's token names no team (claim teams)")
        return {"teams": teams}
    return {"assignee": assignee}


class OutreachHandlers:
    """The outreach use cases on the service's event store and read pool."""

    def __init__(self, runtime: CaseRuntime[OutreachApplication], clock: CaseClock) -> None:
        self.runtime = runtime
        self.clock = clock

    async def _record(self, caller: Caller, youth_id: uuid.UUID, record: Any) -> bool:
        return await record_on_case(
            self.runtime.application, youth_id, caller.tenant, OutreachCase, record
        )

    async def attempt_contact(self, caller: Caller, command: AttemptContact) -> AttemptRecorded:
        self.clock.check_past("attempted_at", command.attempted_at)
        attempt_id = command.contact_attempt_id or uuid.uuid4()

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            return case.attempt_contact(
                attempt_id, command.channel, command.outcome, command.attempted_at,
                caller.actor, correlation_id,
            )  # fmt: skip

        recorded = await self._record(caller, command.youth_id, record)
        return AttemptRecorded(command.youth_id, recorded, attempt_id)

    async def establish_contact(self, caller: Caller, command: EstablishContact) -> Recorded:
        self.clock.check_past("at", command.at)

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            return case.establish_contact(
                command.at, command.channel, caller.actor, correlation_id, command.contact_id
            )

        return Recorded(command.youth_id, await self._record(caller, command.youth_id, record))

    async def inform(self, caller: Caller, command: Inform) -> Recorded:
        self.clock.check_past("at", command.at)

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            return case.inform(
                command.at, command.channel, caller.actor, correlation_id, command.information_id
            )

        return Recorded(command.youth_id, await self._record(caller, command.youth_id, record))

    async def record_occupation(
        self, caller: Caller, command: RecordOccupation
    ) -> OccupationRecorded:
        confirmed_on = command.confirmed_on or self.clock.today()
        self.clock.check_past("confirmed_on", confirmed_on)
        occupation_id = command.occupation_id or uuid.uuid4()

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            return case.record_occupation(
                occupation_id=occupation_id, category=command.category, tense=command.tense,
                from_date=command.from_date, to_date=command.to_date, confirmed_on=confirmed_on,
                actor=caller.actor, correlation_id=correlation_id,
                confirmed_on_given=command.confirmed_on is not None,
            )  # fmt: skip

        recorded = await self._record(caller, command.youth_id, record)
        version = code_list("occupation", on=confirmed_on).version
        return OccupationRecorded(command.youth_id, recorded, occupation_id, version)

    async def record_contact_details(
        self, caller: Caller, command: RecordContactDetails
    ) -> Recorded:
        """How to reach the youth, sealed with the youth's data key before it is recorded."""
        details = command.details
        if details.email is None and details.phone is None:
            raise CommandRefused("email", "give an e-mail address or a phone number")
        application = self.runtime.application
        # Not found for a youth the caller's municipality does not have, before any key is touched.
        await asyncio.to_thread(application.case_of, command.youth_id, caller.tenant)
        sealed, digest = await asyncio.to_thread(
            application.seal_contact_details, caller.tenant, command.youth_id, details
        )

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            return case.record_contact_details(sealed, digest, caller.actor, correlation_id)

        return Recorded(command.youth_id, await self._record(caller, command.youth_id, record))

    async def assign(self, caller: Caller, command: Assign) -> Recorded:
        """Give the case to a caseworker or a team (a coordinator); a reassignment is an event.
        A caseworker may take an unassigned case for themselves, nothing more: another assignee
        is `NotAllowedToAssign` (403), a case someone else has is 409 (a coordinator
        reassigns it)."""
        from services.outreach.commands.corrections import NotAllowedToAssign, may_assign

        coordinator = may_assign(caller)
        taking = command.assignee_kind == "caseworker" and command.assignee == caller.actor
        if not coordinator and not taking:
            raise NotAllowedToAssign("assignee", "assigns a case to someone else")

        def record(case: OutreachCase, correlation_id: uuid.UUID) -> bool:
            if not coordinator and case.assignee not in (None, caller.actor):
                raise CommandRefused(
                    "assignee", "the case is assigned already: a coordinator reassigns it",
                    conflict=True,
                )  # fmt: skip
            return case.assign(
                command.assignee_kind, command.assignee, caller.actor, correlation_id
            )

        return Recorded(command.youth_id, await self._record(caller, command.youth_id, record))

    # -- reads ----------------------------------------------------------------------------------

    async def show_case(self, caller: Caller, youth_id: uuid.UUID) -> CaseShown:
        """The caller's case of the youth (in scope or not), its reading written to the access
        log; `CaseNotFound` for another municipality's youth."""
        application = self.runtime.application
        case: OutreachCase = await asyncio.to_thread(application.case_of, youth_id, caller.tenant)
        scoped = self.runtime.scoped(caller.tenant)
        await record_access(scoped, caller.tenant, caller.actor, youth_id, "outreach case", SERVICE)
        rules = await rules_of(application, caller.tenant)
        clock = contact_clock(
            case.clock, case.left_on or self.clock.today(), rules["first_contact_working_days"]
        )
        current = case.current_occupation()
        return CaseShown(case, clock, current["category"] if current else "unknown")

    async def worklist_counts(
        self,
        caller: Caller,
        mine: bool = False,
        assigned: Assigned | None = None,
        teams: frozenset[str] = frozenset(),
    ) -> tuple[date, dict[str, int]]:
        """Today, and how many open items each worklist has in the caller's municipality (only
        the caller's own cases with `mine`; with `assigned`, as `holder` reads it)."""
        whose = holder(caller, mine=mine, assigned=assigned, teams=teams)
        rules = await rules_of(self.runtime.application, caller.tenant)
        today = self.clock.today()
        scoped = self.runtime.scoped(caller.tenant)
        return today, await counts(scoped, self.runtime.schema, caller.tenant, today, rules,
                                   **whose)  # fmt: skip

    async def worklist(self, caller: Caller, query: WorklistQuery) -> tuple[int, list[Item]]:
        """One page of a worklist (oldest first) and how many items it has in all."""
        whose = holder(caller, mine=query.mine, assignee=query.assignee,
                       assigned=query.assigned, teams=query.teams)  # fmt: skip
        rules = await rules_of(self.runtime.application, caller.tenant)
        return await worklist(
            self.runtime.scoped(caller.tenant), self.runtime.schema, caller.tenant, query.name,
            self.clock.today(), rules, closed=query.closed, limit=query.limit,
            offset=query.offset, **whose,
        )  # fmt: skip


def take_in_measures_batch(
    application: OutreachApplication,
    messages: list[Any],
    topic: str,
    partition: int,
    next_offset: int,
) -> None:
    """Follow-ups the measures service scheduled or completed, into the worklists, once (a batch
    whose position is stored is skipped). They are the measures service's facts, not outreach's:
    only read rows and the position are saved. Blocking: the consumer's thread calls it."""
    # In the order published: a follow-up closed and then due again in one batch stays due. A
    # cancelled one leaves the worklist as a completed one does (on the day it closed).
    follow_ups = [
        m
        for m in messages
        if isinstance(m, FollowUpScheduled | FollowUpCompleted | FollowUpCancelled)
    ]
    application.retrying_tracked(
        lambda: application.save_follow_ups(follow_ups, topic, partition, next_offset),
        topic,
        partition,
        next_offset,
    )
