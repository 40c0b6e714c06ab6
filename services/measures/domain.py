"""The measures case: the youth's individual plan and the measures offered (DOMAIN.md sections 3
and 4). Participation is voluntary: a decline is recorded and schedules a re-offer reminder, an
objection is recorded and changes nothing in the register.

A measure goes offered → accepted or declined → started → ended; a declined measure may be
offered again. Every plan revision is kept; the plan in force on any day can be shown.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.casework.domain import CommandRefused, ScopedYouthCase
from shared.codelists import code_list
from shared.contracts.events import EffortText, MeasureOffered, PlanMapping, PlanText
from shared.crypto import YouthSealer

_FOLLOW_UP_NAMESPACE = uuid.UUID("9d4c2f7a-61b3-4e0f-8a25-3c7d9e1b5f60")


def _follow_up_id(case_id: uuid.UUID, subject: str, measure_id: str | None = None) -> str:
    """Plan follow-ups have one open id per subject (a revision moves its date); a re-offer
    reminder has one per decline."""
    return str(uuid.uuid5(_FOLLOW_UP_NAMESPACE, f"{case_id}:{subject}:{measure_id or ''}"))


def _taken(field: str, what: str) -> CommandRefused:
    """A client id used again with different content: 409, the id is taken."""
    return CommandRefused(
        field, f"is taken by {what} with different content; use a new id", conflict=True
    )


_EFFORT_STRUCTURE = ("effort_id", "responsible", "start_date", "end_date")
CONTENT = MeasureOffered.CONTENT_PURPOSE


def _structure(efforts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The efforts as they are recorded in the clear: who is responsible and when (the words
    are sealed in the revision's `PlanText`)."""
    return [{k: e.get(k) for k in _EFFORT_STRUCTURE} for e in efforts]


def _same_efforts(recorded: list[dict[str, Any]], given: list[dict[str, Any]]) -> bool:
    """The same efforts, but for the ids made up for efforts that came without one."""

    def content(efforts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "effort_id"} for e in _structure(efforts)]

    return content(recorded) == content(given)


def plan_text(goal: str, mapping: dict[str, list[str]], efforts: list[dict[str, Any]]) -> bytes:
    """What the caseworker wrote in a revision, as the plaintext that is sealed."""
    return PlanText(
        goal=goal,
        mapping=PlanMapping(**mapping),
        efforts=[EffortText(**{k: e.get(k) for k in ("description", "other_actor", "end_reason")})
                 for e in efforts],
    ).model_dump_json().encode()  # fmt: skip


def _text_digest(revision: dict[str, Any], sealer: YouthSealer) -> str:
    """The keyed digest of a recorded revision's text (one recorded before the text was sealed
    holds it in the clear)."""
    if revision.get("text_digest") is not None:
        return str(revision["text_digest"])
    plain = plan_text(revision["goal"], revision["mapping"], revision["efforts"])
    return sealer.digest(plain, PlanText.PURPOSE)


def _content_digest(measure: dict[str, Any], sealer: YouthSealer | None) -> str | None:
    """The keyed digest of an offer's content (one recorded before it was sealed is clear)."""
    if measure.get("content_digest") is not None:
        return str(measure["content_digest"])
    clear: str | None = measure.get("content")
    if clear is None or sealer is None:
        return clear
    return sealer.digest(clear.encode(), CONTENT)


class MeasuresCase(ScopedYouthCase):
    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)
        self.measure_ids: tuple[str, ...] = ()
        self.measures: dict[str, dict[str, Any]] = {}
        self.plan_revisions: list[dict[str, Any]] = []
        self.follow_ups: dict[str, dict[str, Any]] = {}
        self.objections: list[date] = []

    # -- measures -------------------------------------------------------------------------------

    def measure(self, measure_id: uuid.UUID, field: str = "measure_id") -> dict[str, Any]:
        found = self.measures.get(str(measure_id))
        if found is None:
            raise CommandRefused(field, "no such measure for this youth")
        return found

    def offer_measure(
        self,
        measure_id: uuid.UUID,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        content: str | None = None,
        sealer: YouthSealer | None = None,
    ) -> bool:
        """Offer a measure, or offer a declined one again; False for a repeated request (the same
        id with the same content), 409 for the id taken by an offer of different content. The
        content is recorded sealed with the youth's data key (`sealer`)."""
        digest = sealed = None
        if content is not None:
            if sealer is None:
                raise ValueError("content: free text is recorded sealed; a sealer is needed")
            digest = sealer.digest(content.encode(), CONTENT)
        known = self.measures.get(str(measure_id))
        if known is not None:
            if known["state"] == "offered" and known["offered_on"] == offered_on:
                offered = (known["measure_type"], known["can_start_on"],
                           _content_digest(known, sealer))  # fmt: skip
                if offered != (measure_type, can_start_on, digest):
                    raise _taken("measure_id", "an offer")
                return False
            if known["state"] != "declined":
                raise CommandRefused(
                    "measure_id", f"the measure is {known['state']}; only a declined one is "
                    "offered again", conflict=True,
                )  # fmt: skip
            if measure_type != known["measure_type"]:
                raise CommandRefused("measure_type", "a re-offer is of the same measure type")
            if offered_on < known["declined_on"]:
                raise CommandRefused("offered_on", "is before the measure was declined")
        if can_start_on is not None and can_start_on < offered_on:
            raise CommandRefused("can_start_on", "is before offered_on")
        if content is not None and sealer is not None:
            sealed = sealer.seal(content.encode(), CONTENT)
        self._measure_offered(
            self.tenant, str(measure_id), measure_type, offered_on, can_start_on, actor,
            correlation_id, sealed, digest,
        )  # fmt: skip
        reminder = _follow_up_id(self.id, "measure_reoffer", str(measure_id))
        pending = self.follow_ups.get(reminder)
        if known is not None and pending is not None and pending["completed_on"] is None:
            self._follow_up_completed(self.tenant, reminder, offered_on, actor, correlation_id)
        return True

    @event("MeasureOffered")
    def _measure_offered(
        self,
        tenant: str,
        measure_id: str,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        content: str | None = None,
        content_digest: str | None = None,
    ) -> None:
        # `content` is sealed when `content_digest` is given (clear only in events recorded
        # before free text was sealed).
        if measure_id not in self.measures:
            self.measure_ids = (*self.measure_ids, measure_id)
        self.measures[measure_id] = {
            **self.measures.get(measure_id, {}),
            "measure_type": measure_type,
            "state": "offered",
            "offered_on": offered_on,
            "can_start_on": can_start_on,
            "content": content,
            "content_digest": content_digest,
            "offers": self.measures.get(measure_id, {}).get("offers", 0) + 1,
        }

    def _transition(
        self, measure_id: uuid.UUID, allowed_from: str, field: str, on: date, after: str
    ) -> dict[str, Any]:
        measure = self.measure(measure_id)
        if measure["state"] != allowed_from:
            raise CommandRefused(
                "measure_id",
                f"the measure is {measure['state']}; this needs it {allowed_from}",
                conflict=True,
            )
        earlier: date = measure[after]
        if on < earlier:
            raise CommandRefused(field, f"is before {after} ({earlier})")
        return measure

    def accept(
        self, measure_id: uuid.UUID, on: date, actor: str, correlation_id: uuid.UUID
    ) -> bool:
        measure = self.measures.get(str(measure_id))
        if measure and measure["state"] == "accepted" and measure["accepted_on"] == on:
            return False
        self._transition(measure_id, "offered", "accepted_on", on, "offered_on")
        self._measure_accepted(self.tenant, str(measure_id), on, actor, correlation_id)
        return True

    @event("MeasureAccepted")
    def _measure_accepted(
        self, tenant: str, measure_id: str, accepted_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self.measures[measure_id].update(state="accepted", accepted_on=accepted_on)

    def decline(
        self,
        measure_id: uuid.UUID,
        on: date,
        reoffer_after_days: int,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        measure = self.measures.get(str(measure_id))
        if measure and measure["state"] == "declined" and measure["declined_on"] == on:
            return False
        self._transition(measure_id, "offered", "declined_on", on, "offered_on")
        self._measure_declined(self.tenant, str(measure_id), on, actor, correlation_id)
        self._follow_up_scheduled(
            self.tenant,
            _follow_up_id(self.id, "measure_reoffer", str(measure_id)),
            "measure_reoffer",
            on + timedelta(days=reoffer_after_days),
            str(measure_id),
            actor,
            correlation_id,
        )
        return True

    @event("MeasureDeclined")
    def _measure_declined(
        self, tenant: str, measure_id: str, declined_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self.measures[measure_id].update(state="declined", declined_on=declined_on)

    def start(self, measure_id: uuid.UUID, on: date, actor: str, correlation_id: uuid.UUID) -> bool:
        measure = self.measures.get(str(measure_id))
        if measure and measure["state"] == "started" and measure["started_on"] == on:
            return False
        self._transition(measure_id, "accepted", "started_on", on, "accepted_on")
        self._measure_started(self.tenant, str(measure_id), on, actor, correlation_id)
        return True

    @event("MeasureStarted")
    def _measure_started(
        self, tenant: str, measure_id: str, started_on: date, actor: str, correlation_id: uuid.UUID
    ) -> None:
        self.measures[measure_id].update(state="started", started_on=started_on)

    def end(
        self,
        measure_id: uuid.UUID,
        on: date,
        end_reason: str,
        occupation_after: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        measure = self.measures.get(str(measure_id))
        if measure and measure["state"] == "ended" and measure["ended_on"] == on:
            if (measure["end_reason"], measure["occupation_after"]) != (
                end_reason,
                occupation_after,
            ):
                raise _taken("measure_id", "an end")
            return False
        reasons = code_list("measure-end-reason", on=on)
        if end_reason not in reasons.codes:
            raise CommandRefused("end_reason", f"unknown code (code list {reasons.name})")
        if occupation_after is not None and occupation_after not in code_list("occupation").codes:
            raise CommandRefused("occupation_after", "unknown code (code list occupation)")
        self._transition(measure_id, "started", "ended_on", on, "started_on")
        self._measure_ended(
            self.tenant, str(measure_id), on, end_reason, occupation_after, actor, correlation_id
        )
        return True

    @event("MeasureEnded")
    def _measure_ended(
        self,
        tenant: str,
        measure_id: str,
        ended_on: date,
        end_reason: str,
        occupation_after: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.measures[measure_id].update(
            state="ended", ended_on=ended_on, end_reason=end_reason,
            occupation_after=occupation_after,
        )  # fmt: skip

    # -- the individual plan --------------------------------------------------------------------

    def revise_plan(
        self,
        *,
        valid_from: date,
        goal: str,
        mapping: dict[str, list[str]],
        efforts: list[dict[str, Any]],
        follow_up_on: date | None,
        evaluation_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        sealer: YouthSealer,
        revision_id: uuid.UUID | None = None,
        valid_from_given: bool = True,
    ) -> int:
        """Record a new revision of the plan; returns its number. The same client `revision_id`
        with the same content again records nothing and returns that revision's number; with
        other content it is refused (409). A `valid_from` the client left to its default (today)
        is not part of the content: a retry the next day is the same request.

        What the caseworker wrote (the goal, the mapping, the efforts' words) is recorded sealed
        with the youth's data key (`sealer`), and compared by a digest keyed with it."""
        plain = plan_text(goal, mapping, efforts)
        digest = sealer.digest(plain, PlanText.PURPOSE)
        structure = _structure(efforts)
        if revision_id is not None:
            for earlier in self.plan_revisions:
                if earlier.get("revision_id") == str(revision_id):
                    compared: tuple[str, ...] = ("follow_up_on", "evaluation_on")
                    content: tuple[Any, ...] = (follow_up_on, evaluation_on)
                    if valid_from_given:
                        compared, content = ("valid_from", *compared), (valid_from, *content)
                    recorded = tuple(earlier[k] for k in compared)
                    if (
                        content != recorded
                        or _text_digest(earlier, sealer) != digest
                        or not _same_efforts(earlier["efforts"], structure)
                    ):
                        raise _taken("revision_id", "a plan revision")
                    return int(earlier["revision"])
        if self.plan_revisions and valid_from < self.plan_revisions[-1]["valid_from"]:
            raise CommandRefused(
                "valid_from", "is before the valid_from of the plan's latest revision"
            )
        for n, effort in enumerate(efforts):
            where = f"efforts[{n}]"
            start, end = effort.get("start_date"), effort.get("end_date")
            if start and end and end < start:
                raise CommandRefused(f"{where}.end_date", "is before start_date")
            if effort.get("end_reason") and not end:
                raise CommandRefused(f"{where}.end_date", "an ended effort needs its end date")
            if effort["responsible"] == "other_actor" and not effort.get("other_actor"):
                raise CommandRefused(f"{where}.other_actor", "name the actor responsible")
        for field, day in (("follow_up_on", follow_up_on), ("evaluation_on", evaluation_on)):
            if day is not None and day < valid_from:
                raise CommandRefused(field, "is before valid_from")
        revision = len(self.plan_revisions) + 1
        self._plan_revised(
            self.tenant, revision, valid_from, None, None, structure, follow_up_on,
            evaluation_on, actor, correlation_id,
            str(revision_id) if revision_id is not None else None,
            sealer.seal(plain, PlanText.PURPOSE), digest,
        )  # fmt: skip
        for subject, day in (("plan_follow_up", follow_up_on), ("plan_evaluation", evaluation_on)):
            follow_up_id = _follow_up_id(self.id, subject)
            known = self.follow_ups.get(follow_up_id)
            if day is not None and (known is None or known["due_on"] != day):
                self._follow_up_scheduled(
                    self.tenant, follow_up_id, subject, day, None, actor, correlation_id
                )
        return revision

    @event("IndividualPlanRevised")
    def _plan_revised(
        self,
        tenant: str,
        revision: int,
        valid_from: date,
        goal: str | None,
        mapping: dict[str, list[str]] | None,
        efforts: list[dict[str, Any]],
        follow_up_on: date | None,
        evaluation_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
        revision_id: str | None = None,
        sealed_text: str | None = None,
        text_digest: str | None = None,
    ) -> None:
        # The text is in `sealed_text` (`PlanText`); `goal`, `mapping` and the efforts' words are
        # clear only in events recorded before free text was sealed.
        self.plan_revisions.append(
            {
                "revision": revision,
                "revision_id": revision_id,
                "valid_from": valid_from,
                "goal": goal,
                "mapping": mapping,
                "efforts": efforts,
                "follow_up_on": follow_up_on,
                "evaluation_on": evaluation_on,
                "actor": actor,
                "sealed_text": sealed_text,
                "text_digest": text_digest,
            }
        )

    def plan_on(self, day: date) -> dict[str, Any] | None:
        """The revision in force on `day` (the latest one valid from then or earlier)."""
        in_force = [r for r in self.plan_revisions if r["valid_from"] <= day]
        return in_force[-1] if in_force else None

    # -- follow-ups and objections --------------------------------------------------------------

    @event("FollowUpScheduled")
    def _follow_up_scheduled(
        self,
        tenant: str,
        follow_up_id: str,
        subject: str,
        due_on: date,
        measure_id: str | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.follow_ups[follow_up_id] = {
            "follow_up_id": follow_up_id,
            "subject": subject,
            "due_on": due_on,
            "measure_id": measure_id,
            "completed_on": None,
        }

    def complete_follow_up(
        self, follow_up_id: uuid.UUID, on: date, actor: str, correlation_id: uuid.UUID
    ) -> bool:
        known = self.follow_ups.get(str(follow_up_id))
        if known is None:
            raise CommandRefused("follow_up_id", "no such follow-up for this youth")
        if known["completed_on"] is not None:
            if known["completed_on"] != on:
                raise CommandRefused("follow_up_id", "was completed on another day", conflict=True)
            return False
        self._follow_up_completed(self.tenant, str(follow_up_id), on, actor, correlation_id)
        return True

    @event("FollowUpCompleted")
    def _follow_up_completed(
        self,
        tenant: str,
        follow_up_id: str,
        completed_on: date,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.follow_ups[follow_up_id]["completed_on"] = completed_on

    def record_objection(
        self,
        on: date,
        actor: str,
        correlation_id: uuid.UUID,
        objection_id: uuid.UUID | None = None,
    ) -> bool:
        """Record an objection; False for a repeated request (the same client id with the same
        day, or without an id an objection already recorded that day)."""
        if objection_id is not None:
            known = self.objection_days().get(str(objection_id))
            if known is not None:
                if known != on:
                    raise _taken("objection_id", "an objection")
                return False
        elif on in self.objections:
            return False
        self._objection_recorded(
            self.tenant, on, actor, correlation_id,
            str(objection_id) if objection_id is not None else None,
        )  # fmt: skip
        return True

    def objection_days(self) -> dict[str, date]:
        """The objections recorded with a client id: id → day."""
        return dict(getattr(self, "objection_ids", {}))

    @event("ObjectionRecorded")
    def _objection_recorded(
        self,
        tenant: str,
        objected_on: date,
        actor: str,
        correlation_id: uuid.UUID,
        objection_id: str | None = None,
    ) -> None:
        self.objections.append(objected_on)
        if objection_id is not None:
            self.objection_ids = {**self.objection_days(), objection_id: objected_on}


_CATALOGUE_NAMESPACE = uuid.UUID("2e8b6d14-0c9f-4a73-b5e1-7f3a9c2d6b08")
CONSORTIUM = "consortium"


class MeasureCatalogue(Aggregate):
    """A municipality's measure catalogue, or (owner 'consortium') the partner offerings every
    municipality of the deployment shares. The standard measures come from the code list."""

    @staticmethod
    def create_id(owner: str) -> uuid.UUID:
        return uuid.uuid5(_CATALOGUE_NAMESPACE, owner)

    @event("Created")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.entries: dict[str, dict[str, Any]] = {}

    @event("EntryDefined")
    def define(
        self, code: str, name: str, description: str | None, provider: str | None, actor: str
    ) -> None:
        self.entries[code] = {
            "code": code,
            "name": name,
            "description": description,
            "provider": provider,
            "retired": False,
        }

    @event("EntryRetired")
    def retire(self, code: str, actor: str) -> None:
        self.entries[code]["retired"] = True
