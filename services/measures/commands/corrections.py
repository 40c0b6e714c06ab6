"""Use cases that put a recorded entry right: correct a measure's step, a plan revision, a
follow-up's completion or an objection (the fact recorded again with new values) or withdraw one
(it did not happen), with a reason code and
an optional note (at most 300 characters, sealed with the youth's data key). The rules are the
case's (`domain.corrections`); an entry is named by the event id the case views show.

Refusals: `EntryNotFound` (a `CaseNotFound`: the event id is no entry of this youth's measures, or
of the measure named) naming `corrects` / `withdraws`; `CommandRefused` for a bad reason or note
(422), a correction out of order, a step others depend on, an entry corrected since (409).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from services.measures.adapters.outbound import entry_event_id
from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import Effort, effort_recorded
from services.measures.domain import MeasuresCase
from services.measures.domain.catalogue import check_offerable
from services.measures.domain.corrections import StepGiven
from shared.casework import commands as casework
from shared.casework.commands import Caller, CaseClock, CaseRuntime
from shared.casework.domain import Why, check_why
from shared.contracts.events import Correction
from shared.crypto import YouthSealer


@dataclass(frozen=True)
class CorrectStep:
    """Record a measure's step again with new values: an offer's `measure_type`, `on` (its
    offered_on), `can_start_on`, `content`; an end's `on`, `end_reason`, `occupation_after`; an
    acceptance's, a decline's or a start's `on`."""

    youth_id: uuid.UUID
    measure_id: uuid.UUID
    corrects: uuid.UUID
    reason: str
    on: date
    note: str | None = None
    measure_type: str | None = None
    can_start_on: date | None = None
    content: str | None = None
    end_reason: str | None = None
    occupation_after: str | None = None


@dataclass(frozen=True)
class CorrectPlanRevision:
    """Record a plan revision again with new content (the same number); `valid_from` None keeps
    the day it had."""

    youth_id: uuid.UUID
    corrects: uuid.UUID
    reason: str
    goal: str
    mapping: Mapping[str, list[str]] = field(default_factory=dict)
    efforts: tuple[Effort, ...] = ()
    valid_from: date | None = None
    follow_up_on: date | None = None
    evaluation_on: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Withdraw:
    """Withdraw a measure's step (`measure_id`) or, without one, a plan revision."""

    youth_id: uuid.UUID
    withdraws: uuid.UUID
    reason: str
    measure_id: uuid.UUID | None = None
    note: str | None = None


@dataclass(frozen=True)
class CorrectDay:
    """Record a follow-up's completion (`follow_up_id`) or, without one, an objection again on
    another day (`on`)."""

    youth_id: uuid.UUID
    corrects: uuid.UUID
    reason: str
    on: date
    follow_up_id: uuid.UUID | None = None
    note: str | None = None


@dataclass(frozen=True)
class WithdrawDay:
    """Withdraw a follow-up's completion (`follow_up_id`: the follow-up is due again) or,
    without one, an objection."""

    youth_id: uuid.UUID
    withdraws: uuid.UUID
    reason: str
    follow_up_id: uuid.UUID | None = None
    note: str | None = None


class MeasuresCorrections:
    """Correcting and withdrawing on the measures service's event store."""

    def __init__(self, runtime: CaseRuntime[MeasuresApplication], clock: CaseClock) -> None:
        self.runtime = runtime
        self.clock = clock

    async def correct_step(self, caller: Caller, command: CorrectStep) -> bool:
        """Correct a measure's step; False for a retry (the same correction recorded)."""
        c = command
        check_why(c.reason, c.note)
        self.clock.check_past("on", c.on)
        self.clock.check_dates({"can_start_on": c.can_start_on})
        app = self.runtime.application
        if c.measure_type is not None:
            catalogue = await asyncio.to_thread(app.catalogue, caller.tenant)
            check_offerable(catalogue, c.measure_type)
        given = StepGiven(c.on, c.measure_type, c.can_start_on, c.content, c.end_reason,
                          c.occupation_after)  # fmt: skip

        def correct(case: MeasuresCase, why: Why, sealer: YouthSealer) -> bool:
            ids = _ids(case)
            return case.correct_step(c.measure_id, c.corrects, given, why, ids, sealer)

        return await self._record(caller, c.youth_id, c.reason, c.note, correct)

    async def correct_plan_revision(self, caller: Caller, command: CorrectPlanRevision) -> bool:
        """Correct a plan revision; False for a retry (the same correction recorded)."""
        c = command
        check_why(c.reason, c.note)
        self.clock.check_dates(
            {"valid_from": c.valid_from, "follow_up_on": c.follow_up_on,
             "evaluation_on": c.evaluation_on}
            | {f"efforts[{n}].{k}": getattr(e, k) for n, e in enumerate(c.efforts)
               for k in ("start_date", "end_date")}
        )  # fmt: skip
        revision = {
            "goal": c.goal, "mapping": dict(c.mapping), "valid_from": c.valid_from,
            "efforts": [effort_recorded(e) for e in c.efforts], "follow_up_on": c.follow_up_on,
            "evaluation_on": c.evaluation_on,
        }  # fmt: skip

        def correct(case: MeasuresCase, why: Why, sealer: YouthSealer) -> bool:
            return case.correct_plan_revision(c.corrects, revision, why, _ids(case), sealer)

        return await self._record(caller, c.youth_id, c.reason, c.note, correct)

    async def withdraw(self, caller: Caller, command: Withdraw) -> bool:
        """Withdraw a step or a plan revision; False for a retry (withdrawn already, for this
        reason)."""
        c = command
        check_why(c.reason, c.note)

        def withdraw(case: MeasuresCase, why: Why, sealer: YouthSealer) -> bool:
            return case.withdraw(c.withdraws, c.measure_id, why, _ids(case))

        return await self._record(caller, c.youth_id, c.reason, c.note, withdraw)

    async def correct_day(self, caller: Caller, command: CorrectDay) -> bool:
        """Correct a follow-up's completion or an objection; False for a retry."""
        c = command
        check_why(c.reason, c.note)
        self.clock.check_past("on", c.on)

        def correct(case: MeasuresCase, why: Why, sealer: YouthSealer) -> bool:
            return case.correct_completion(c.follow_up_id, c.corrects, c.on, why, _ids(case))

        return await self._record(caller, c.youth_id, c.reason, c.note, correct)

    async def withdraw_day(self, caller: Caller, command: WithdrawDay) -> bool:
        """Withdraw a follow-up's completion or an objection; False for a retry."""
        c = command
        check_why(c.reason, c.note)

        def withdraw(case: MeasuresCase, why: Why, sealer: YouthSealer) -> bool:
            return case.withdraw_completion(c.follow_up_id, c.withdraws, why, _ids(case))

        return await self._record(caller, c.youth_id, c.reason, c.note, withdraw)

    async def _record(
        self,
        caller: Caller,
        youth_id: uuid.UUID,
        reason: str,
        note: str | None,
        record: Callable[[MeasuresCase, Why, YouthSealer], bool],
    ) -> bool:
        app = self.runtime.application

        def recorded(case: MeasuresCase, correlation_id: uuid.UUID) -> bool:
            sealer = app.sealer(case.tenant, case.id)
            sealed = (
                sealer.seal(note.encode(), Correction.SEALED_PURPOSE) if note is not None else None
            )
            why = Why(reason, sealed, caller.actor, correlation_id, datetime.now(UTC))
            return record(case, why, sealer)

        # What was recorded while the youth was in scope is put right after they left it too.
        return await casework.record_on_case(
            app, youth_id, caller.tenant, MeasuresCase, recorded, in_scope_only=False
        )


def _ids(case: MeasuresCase) -> Callable[[int], uuid.UUID]:
    """How the case's entries are named to callers: their public events' ids."""
    return lambda version: entry_event_id(case.id, version)
