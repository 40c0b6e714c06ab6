"""Use cases of the measures service, callable alike from HTTP, Kafka, the CLI and tests: offer a
measure and take its steps, revise the individual plan, complete a follow-up, record an
objection, keep the measure catalogue; and read a youth's measures and plan with their words
opened.

A command is a frozen dataclass; `MeasuresCommands` handles it for a caller (`Caller`: the
municipality and the actor, e.g. a token's `Principal`). A recording command answers whether it recorded something now
(False: the same request had been recorded, a retry). Refusals are the domain's (`CommandRefused`,
`CaseNotFound`, `NotInScope`, `dates.ImplausibleDate`): the entrypoints map them to answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import entries
from services.measures.domain import MeasuresCase, Step
from services.measures.domain.catalogue import catalogue_owner, check_offerable, check_retirable
from shared.casework import commands as casework
from shared.casework.commands import Caller, CaseClock, CaseRuntime, record_access
from shared.casework.domain import CommandRefused
from shared.codelists import free_text_warnings
from shared.crypto import SealedDataError
from shared.free_text import Opener, opener
from shared.logs import correlation_id as current_correlation_id


@dataclass(frozen=True)
class OfferMeasure:
    """Offer a measure of the catalogue, or (a declined measure's id) offer it again."""

    youth_id: uuid.UUID
    measure_type: str
    offered_on: date
    can_start_on: date | None = None
    content: str | None = None
    measure_id: uuid.UUID | None = None  # client-chosen; None: a new measure


@dataclass(frozen=True)
class TakeStep:
    """The youth accepted or declined an offered measure, or the accepted measure started."""

    youth_id: uuid.UUID
    measure_id: uuid.UUID
    step: Step
    on: date


@dataclass(frozen=True)
class EndMeasure:
    youth_id: uuid.UUID
    measure_id: uuid.UUID
    on: date
    end_reason: str
    occupation_after: str | None = None


@dataclass(frozen=True)
class Effort:
    description: str
    responsible: str
    other_actor: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    end_reason: str | None = None
    effort_id: uuid.UUID | None = None  # None: a new effort


@dataclass(frozen=True)
class RevisePlan:
    youth_id: uuid.UUID
    goal: str
    mapping: Mapping[str, list[str]] = field(default_factory=dict)
    efforts: tuple[Effort, ...] = ()
    valid_from: date | None = None  # None: today (and not part of the content, for a retry)
    follow_up_on: date | None = None
    evaluation_on: date | None = None
    revision_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CompleteFollowUp:
    youth_id: uuid.UUID
    follow_up_id: uuid.UUID
    on: date


@dataclass(frozen=True)
class RecordObjection:
    youth_id: uuid.UUID
    on: date
    objection_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DefineEntry:
    code: str
    name: str
    description: str | None = None
    provider: str | None = None
    shared: bool = False  # a partner offering of the consortium


@dataclass(frozen=True)
class OfferRecorded:
    measure_id: uuid.UUID
    recorded: bool
    warnings: list[str]


@dataclass(frozen=True)
class PlanRevisionRecorded:
    revision: int
    recorded: bool
    warnings: list[str]


@dataclass(frozen=True)
class MeasuresShown:
    """A youth's measures (their words opened), follow-ups (each with its completions as
    entries), the standing objections' days, and every objection as an entry."""

    measures: list[dict[str, Any]]
    follow_ups: list[dict[str, Any]]
    objections: list[Any]
    objection_entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PlanShown:
    """The individual plan in force on a day (its words opened), or None."""

    as_of: date
    plan: dict[str, Any] | None


SERVICE = "measures"
DAY_STEPS = frozenset({Step.ACCEPT, Step.DECLINE, Step.START})
"""The steps a measure takes with a day only (`TakeStep`); an offer and an end have their own."""


class MeasuresCommands:
    """The measures service's use cases on its event store, with the day of the clock.

    `runtime` holds the event store and the read pool once the service has started (built
    empty by the composition root): a command's own checks (its dates) come first, so a request
    refused by them never touches either."""

    def __init__(self, runtime: CaseRuntime[MeasuresApplication], clock: CaseClock) -> None:
        self.runtime = runtime
        self.clock = clock

    @property
    def application(self) -> MeasuresApplication:
        return self.runtime.application

    async def offer_measure(self, caller: Caller, command: OfferMeasure) -> OfferRecorded:
        """Offer a measure (a date that has happened; a start date that can be true; a type of
        the municipality's catalogue). Its content is sealed with the youth's data key."""
        self.clock.check_past("offered_on", command.offered_on)
        self.clock.check_dates({"can_start_on": command.can_start_on})
        app = self.application
        check_offerable(await asyncio.to_thread(app.catalogue, caller.tenant), command.measure_type)
        measure_id = command.measure_id or uuid.uuid4()
        c = command

        def offer(case: MeasuresCase, correlation_id: uuid.UUID) -> bool:
            sealer = app.sealer(case.tenant, case.id) if c.content is not None else None
            return case.offer_measure(
                measure_id, c.measure_type, c.offered_on, c.can_start_on, caller.actor,
                correlation_id, c.content, sealer,
            )  # fmt: skip

        recorded = await self._record(caller, c.youth_id, offer)
        warnings = free_text_warnings({"content": c.content})
        return OfferRecorded(measure_id, recorded, warnings)

    async def take_step(self, caller: Caller, command: TakeStep) -> bool:
        """Accept, decline (a re-offer reminder falls due after the municipality's
        `reoffer_after_days`) or start a measure."""
        if command.step not in DAY_STEPS:
            raise ValueError(f"step: {command.step} is not taken with a day only")
        self.clock.check_past("on", command.on)
        rules = await casework.rules_of(self.application, caller.tenant)
        c = command

        def step(case: MeasuresCase, correlation_id: uuid.UUID) -> bool:
            if c.step is Step.DECLINE:
                days = rules["reoffer_after_days"]
                return case.decline(c.measure_id, c.on, days, caller.actor, correlation_id)
            take = case.accept if c.step is Step.ACCEPT else case.start
            return take(c.measure_id, c.on, caller.actor, correlation_id)

        return await self._record(caller, c.youth_id, step)

    async def end_measure(self, caller: Caller, command: EndMeasure) -> bool:
        """The started measure ended: why, and what the youth does after it."""
        self.clock.check_past("on", command.on)
        c = command
        return await self._record(
            caller, c.youth_id,
            lambda case, cid: case.end(
                c.measure_id, c.on, c.end_reason, c.occupation_after, caller.actor, cid
            ),
        )  # fmt: skip

    async def revise_plan(self, caller: Caller, command: RevisePlan) -> PlanRevisionRecorded:
        """Record a new revision of the individual plan (earlier ones stay as they were). With a
        `revision_id`, a retried request records it once."""
        c = command
        valid_from = c.valid_from or self.clock.today()
        self.clock.check_dates(
            {"valid_from": valid_from, "follow_up_on": c.follow_up_on,
             "evaluation_on": c.evaluation_on}
            | {f"efforts[{n}].{k}": getattr(e, k) for n, e in enumerate(c.efforts)
               for k in ("start_date", "end_date")}
        )  # fmt: skip
        efforts = [effort_recorded(e) for e in c.efforts]
        app = self.application
        correlation = current_correlation_id()  # the request's (the command runs in another thread)

        def revise(case: MeasuresCase) -> tuple[int, bool]:
            before = len(case.plan_revisions)
            revision = case.revise_plan(
                valid_from=valid_from, goal=c.goal, mapping=dict(c.mapping), efforts=efforts,
                follow_up_on=c.follow_up_on, evaluation_on=c.evaluation_on, actor=caller.actor,
                correlation_id=correlation, sealer=app.sealer(case.tenant, case.id),
                revision_id=c.revision_id, valid_from_given=c.valid_from is not None,
            )  # fmt: skip
            return revision, len(case.plan_revisions) > before

        revision, recorded = await app.submit(c.youth_id, caller.tenant, revise)
        return PlanRevisionRecorded(revision, recorded, free_text_warnings(plan_words(c)))

    async def complete_follow_up(self, caller: Caller, command: CompleteFollowUp) -> bool:
        self.clock.check_past("on", command.on)
        c = command
        return await self._record(
            caller, c.youth_id,
            lambda case, cid: case.complete_follow_up(c.follow_up_id, c.on, caller.actor, cid),
        )  # fmt: skip

    async def record_objection(self, caller: Caller, command: RecordObjection) -> bool:
        """The youth objects: recorded; the youth stays in the register (förordning 2006:39 § 1)."""
        self.clock.check_past("on", command.on)
        c = command
        return await self._record(
            caller, c.youth_id,
            lambda case, cid: case.record_objection(c.on, caller.actor, cid, c.objection_id),
        )  # fmt: skip

    async def catalogue(self, caller: Caller) -> list[dict[str, Any]]:
        """Standard measures, the municipality's own, and the consortium's partner offerings."""
        entries = await asyncio.to_thread(self.application.catalogue, caller.tenant)
        return sorted(entries.values(), key=lambda e: e["code"])

    async def catalogue_history(self, caller: Caller) -> list[dict[str, Any]]:
        """Every change of the municipality's catalogue and the consortium's, oldest first."""
        return await asyncio.to_thread(self.application.catalogue_history, caller.tenant)

    async def define_entry(self, caller: Caller, command: DefineEntry) -> dict[str, Any]:
        """Define (or redefine) an entry of the municipality's catalogue or the consortium's; the
        entry as the municipality now sees it."""
        c, app = command, self.application
        owner = catalogue_owner(caller.tenant, c.shared)

        def work() -> dict[str, Any]:
            catalogue = app.catalogue_of(owner)
            catalogue.define(c.code, c.name, c.description, c.provider, caller.actor)
            app.save_catalogue(catalogue)
            return app.catalogue(caller.tenant)[c.code]

        return cast(dict[str, Any], await asyncio.to_thread(app.retrying, work))

    async def retire_entry(self, caller: Caller, code: str, shared: bool = False) -> None:
        """Retire an entry: no new offers of it; measures already offered keep their code."""
        app = self.application
        owner = catalogue_owner(caller.tenant, shared)

        def work() -> None:
            catalogue = app.catalogue_of(owner)
            check_retirable(catalogue, code, shared)
            catalogue.retire(code, caller.actor)
            app.save_catalogue(catalogue)

        await asyncio.to_thread(lambda: app.retrying(work, refusals=(CommandRefused,)))

    async def case_and_opener(
        self, caller: Caller, youth_id: uuid.UUID
    ) -> tuple[MeasuresCase, Opener]:
        """The caller's case of the youth for reading, and what opens its sealed words: the
        youth's key as the keyring holds it now (none once retention destroyed it)."""
        app = self.application

        def read() -> tuple[MeasuresCase, Opener]:
            case: MeasuresCase = app.case_of(youth_id, caller.tenant)
            try:
                key = app.stored_data_key(caller.tenant, youth_id)
            except SealedDataError:  # the wrapped key fails: every text shows `tampered`
                return case, opener(None, caller.tenant, youth_id, key_refused=True)
            return case, opener(key, caller.tenant, youth_id)

        return await asyncio.to_thread(read)

    # -- reads: each opens the caller's case and writes the read to the access log -------------

    async def show_measures(self, caller: Caller, youth_id: uuid.UUID) -> MeasuresShown:
        """The youth's measures (their content opened), follow-ups and objections."""
        case, open_ = await self._read(caller, youth_id, "measures")
        return MeasuresShown(
            entries.measures_shown(case, open_),
            entries.follow_ups_shown(case, open_),
            list(case.objections),
            entries.objections_shown(case, open_),
        )

    async def show_plan(
        self, caller: Caller, youth_id: uuid.UUID, as_of: date | None = None
    ) -> PlanShown:
        """The individual plan in force on `as_of` (default: today), its words opened."""
        case, open_ = await self.case_and_opener(caller, youth_id)
        day = as_of or self.clock.today()
        await self._logged(caller, youth_id, f"individual plan as of {day}")
        plan = case.plan_on(day)
        return PlanShown(day, entries.revision_shown(case, plan, open_) if plan else None)

    async def show_plan_revisions(
        self, caller: Caller, youth_id: uuid.UUID
    ) -> list[dict[str, Any]]:
        """Every revision of the individual plan, oldest first, their words opened (corrections
        and withdrawn ones too, marked)."""
        case, open_ = await self._read(caller, youth_id, "individual plan revisions")
        return entries.revisions_shown(case, open_)

    async def _read(
        self, caller: Caller, youth_id: uuid.UUID, what: str
    ) -> tuple[MeasuresCase, Opener]:
        """The caller's case and its opener (`CaseNotFound` first), the read then logged."""
        read = await self.case_and_opener(caller, youth_id)
        await self._logged(caller, youth_id, what)
        return read

    async def _logged(self, caller: Caller, youth_id: uuid.UUID, what: str) -> None:
        scoped = self.runtime.scoped(caller.tenant)
        await record_access(scoped, caller.tenant, caller.actor, youth_id, what, SERVICE)

    async def _record(
        self,
        caller: Caller,
        youth_id: uuid.UUID,
        record: Callable[[MeasuresCase, uuid.UUID], bool],
    ) -> bool:
        return await casework.record_on_case(
            self.application, youth_id, caller.tenant, MeasuresCase, record
        )


def effort_recorded(effort: Effort) -> dict[str, Any]:
    """An effort as the case records it: a made-up id when it came without one."""
    return {
        "effort_id": str(effort.effort_id or uuid.uuid4()),
        "description": effort.description,
        "responsible": effort.responsible,
        "other_actor": effort.other_actor,
        "start_date": effort.start_date,
        "end_date": effort.end_date,
        "end_reason": effort.end_reason,
    }


def plan_words(command: RevisePlan) -> dict[str, str | None]:
    """A revision's free text by field, for the warnings about sensitive personal data."""
    texts: dict[str, str | None] = {"goal": command.goal}
    for part, items in command.mapping.items():
        texts.update({f"mapping.{part}[{n}]": item for n, item in enumerate(items)})
    for n, effort in enumerate(command.efforts):
        texts[f"efforts[{n}].description"] = effort.description
        texts[f"efforts[{n}].end_reason"] = effort.end_reason
    return texts
