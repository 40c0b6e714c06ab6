"""Follow-ups and objections on a measures case (DOMAIN.md sections 3 and 4), entry by entry.

A follow-up is something to come back to on a day: the plan's follow-up and evaluation (one id
per subject; the latest revision that names a day sets it) and a declined measure's re-offer
reminder (one id per measure; due `reoffer_after_days` after the decline, closed by the offer
again). What schedules them can be corrected or withdrawn, so they are worked out again after
each correction and withdrawal (`FollowUps.reminder_derived`, `FollowUps.plan_follow_ups_derived`):
a reminder whose decline was withdrawn is closed, one whose decline was corrected moves by as many
days, one closed by an offer again that was withdrawn opens again; the plan's follow-up moves to
the day of the latest standing revision that names one, and is closed when none does.

A follow-up's completion and an objection are entries like a measure's steps (`FollowUpBook`):
they can be corrected (another day) or withdrawn (it did not happen), by the event id the views
show. A completion the offer again made is the offer's: it is put right by correcting or
withdrawing that offer (409). A withdrawn completion opens the follow-up again.

`FollowUps` holds the case's commands; the events they record are the case's own (`MeasuresCase`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.measures.domain.lifecycle import MeasureState
from services.measures.domain.record import EntryIds, EntryNotFound
from services.measures.domain.values import FollowUpSubject, follow_up_id, taken
from shared.casework.domain import CommandRefused

if TYPE_CHECKING:
    from shared.casework.domain import Why

COMPLETION = "FollowUpCompleted"
OBJECTION = "ObjectionRecorded"
REOFFER = FollowUpSubject.MEASURE_REOFFER
PLAN_DAYS = (
    (FollowUpSubject.PLAN_FOLLOW_UP, "follow_up_on"),
    (FollowUpSubject.PLAN_EVALUATION, "evaluation_on"),
)


class FollowUpBook:
    """The case's follow-ups (`follow_ups`: id → as the views show it), its standing objections'
    days (`objections`, in the order recorded), and every completion and objection as an entry
    (`entries`: version → entry), marked corrected or withdrawn like the record's."""

    def __init__(self, follow_ups: dict[str, dict[str, Any]], objections: list[date]) -> None:
        self.follow_ups = follow_ups
        self.objections = objections
        self.entries: dict[int, dict[str, Any]] = {}
        # Per follow-up: its completion that stands (`completed_by`), the offer again that made
        # it (`reoffer`), and a reminder's days after the decline (`after_days`).
        self.kept: dict[str, dict[str, Any]] = {}
        self.standing_objections: list[int] = []

    # -- applying what was recorded (never refuses: stored events replay) ----------------------

    def scheduled(
        self, fid: str, subject: str, due_on: date, measure_id: str | None,
        measure: Mapping[str, Any] | None,
    ) -> None:  # fmt: skip
        self.follow_ups[fid] = {"follow_up_id": fid, "subject": subject, "due_on": due_on,
                                "measure_id": measure_id, "completed_on": None}  # fmt: skip
        after = None
        if measure is not None and measure.get("declined_on") is not None:
            after = (due_on - measure["declined_on"]).days
        known = self.kept.get(fid, {})
        self.kept[fid] = {
            "completed_by": None,
            "reoffer": None,
            "after_days": after if after is not None else known.get("after_days"),
        }

    def completed(
        self, version: int, fid: str, completed_on: date, actor: str, reoffer: int | None,
        corrects: int | None = None, correction: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self._entry(version, COMPLETION, actor, {"completed_on": completed_on}, corrects,
                    correction, follow_up_id=fid, reoffer=reoffer)  # fmt: skip
        self.follow_ups[fid]["completed_on"] = completed_on
        self.kept.setdefault(fid, {"after_days": None}).update(
            completed_by=version, reoffer=reoffer
        )

    def cancelled(self, fid: str) -> None:
        self.follow_ups.pop(fid, None)
        self.kept.pop(fid, None)

    def objected(
        self, version: int, objected_on: date, actor: str, corrects: int | None = None,
        correction: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self._entry(version, OBJECTION, actor, {"objected_on": objected_on}, corrects, correction,
                    follow_up_id=None, reoffer=None)  # fmt: skip
        if corrects is None:
            self.standing_objections.append(version)
        else:
            at = self.standing_objections.index(corrects)
            self.standing_objections[at] = version
        self._objections_now()

    def withdrawn(self, version: int, withdraws: int, how: Mapping[str, Any]) -> None:
        entry = self.entries[withdraws]
        entry["withdrawn"] = {"by": version, **how}
        if entry["event_type"] == OBJECTION:
            self.standing_objections.remove(withdraws)
            self._objections_now()
            return
        fid = entry["follow_up_id"]
        kept = self.kept.get(fid)
        if kept is not None and kept["completed_by"] == withdraws:
            self.follow_ups[fid]["completed_on"] = None
            kept.update(completed_by=None, reoffer=None)

    def _objections_now(self) -> None:
        self.objections[:] = [
            self.entries[v]["values"]["objected_on"] for v in self.standing_objections
        ]

    def _entry(
        self, version: int, event_type: str, actor: str, values: dict[str, Any],
        corrects: int | None, correction: Mapping[str, Any] | None, **kind: Any,
    ) -> None:  # fmt: skip
        self.entries[version] = {
            "version": version, "event_type": event_type, "actor": actor, "values": values,
            **kind, "corrects": corrects, "correction": dict(correction) if correction else None,
            "corrected": None, "withdrawn": None,
        }  # fmt: skip
        if corrects is not None and correction is not None:
            self.entries[corrects]["corrected"] = {"by": version, "actor": actor, **correction}

    # -- deciding: the refusals, before anything is recorded -----------------------------------

    def named(self, event_id: uuid.UUID, field: str, ids: EntryIds, fid: str | None) -> int:
        """The version of the completion of follow-up `fid` (None: the objection) `event_id`
        names, standing (409 if withdrawn or corrected since); else `EntryNotFound`."""
        kind = OBJECTION if fid is None else COMPLETION
        for version, entry in self.entries.items():
            if ids(version) == event_id and (entry["event_type"], entry["follow_up_id"]) == (
                kind,
                fid,
            ):
                return version
        raise EntryNotFound(field)

    def retried(self, version: int, reason: str, values: Mapping[str, Any] | None) -> bool:
        """The entry withdrawn (`values` None) or corrected with these values, for this reason."""
        entry = self.entries[version]
        done = entry["withdrawn"] if values is None else entry["corrected"]
        if done is None or done["reason"] != reason:
            return False
        return values is None or self.entries[done["by"]]["values"] == dict(values)

    def check_standing(self, version: int, field: str, ids: EntryIds) -> None:
        entry = self.entries[version]
        if entry["withdrawn"] is not None:
            raise CommandRefused(field, "names an entry that was withdrawn", conflict=True)
        if entry["corrected"] is not None:
            latest = ids(entry["corrected"]["by"])
            raise CommandRefused(
                field, f"names an entry corrected since by {latest}; name the latest", conflict=True
            )
        fid = entry["follow_up_id"]
        if fid is None:
            return
        if entry["reoffer"] is not None:
            offer = ids(entry["reoffer"])
            raise CommandRefused(field, f"the measure's offer again {offer} (MeasureOffered) "
                                 "completed it: correct or withdraw that", conflict=True)  # fmt: skip
        if self.kept.get(fid, {}).get("completed_by") != version:
            raise CommandRefused(
                field, "the follow-up was scheduled again or closed since", conflict=True
            )


class FollowUps:
    """The commands on the case's follow-ups and objections (mixed into `MeasuresCase`)."""

    if TYPE_CHECKING:
        id: uuid.UUID
        tenant: str
        book: FollowUpBook
        follow_ups: dict[str, dict[str, Any]]
        measures: dict[str, dict[str, Any]]
        plan_revisions: list[dict[str, Any]]

        def _follow_up_scheduled(
            self, tenant: str, follow_up_id: str, subject: str, due_on: date,
            measure_id: str | None, actor: str, correlation_id: uuid.UUID,
        ) -> None: ...  # fmt: skip

        def _follow_up_completed(
            self, tenant: str, follow_up_id: str, completed_on: date, actor: str,
            correlation_id: uuid.UUID, reoffer: int | None = None,
        ) -> None: ...  # fmt: skip

        def _follow_up_cancelled(
            self, tenant: str, follow_up_id: str, on: date, actor: str, correlation_id: uuid.UUID
        ) -> None: ...

        def _objection_recorded(
            self, tenant: str, objected_on: date, actor: str, correlation_id: uuid.UUID,
            objection_id: str | None = None,
        ) -> None: ...  # fmt: skip

        def _completion_corrected(
            self, tenant: str, corrects: int, follow_up_id: str, completed_on: date, actor: str,
            correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            corrected_at: datetime,
        ) -> None: ...  # fmt: skip

        def _objection_corrected(
            self, tenant: str, corrects: int, objected_on: date, actor: str,
            correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            corrected_at: datetime,
        ) -> None: ...  # fmt: skip

        def _entry_withdrawn(
            self, tenant: str, withdraws: int, withdrawn_event_type: str, actor: str,
            correlation_id: uuid.UUID, reason: str, sealed_note: str | None,
            withdrawn_at: datetime,
        ) -> None: ...  # fmt: skip

    # -- recording ------------------------------------------------------------------------------

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

    def record_objection(
        self,
        on: date,
        actor: str,
        correlation_id: uuid.UUID,
        objection_id: uuid.UUID | None = None,
    ) -> bool:
        """Record an objection; False for a repeated request (the same client id with the same
        day, or without an id an objection standing that day)."""
        if objection_id is not None:
            known = self.objection_days().get(str(objection_id))
            if known is not None:
                if known != on:
                    raise taken("objection_id", "an objection")
                return False
        elif on in self.book.objections:
            return False
        self._objection_recorded(
            self.tenant, on, actor, correlation_id,
            str(objection_id) if objection_id is not None else None,
        )  # fmt: skip
        return True

    def objection_days(self) -> dict[str, date]:
        """The objections recorded with a client id: id → the day first recorded."""
        return dict(getattr(self, "objection_ids", {}))

    # -- corrections and withdrawals ------------------------------------------------------------

    def correct_completion(
        self, follow_up_id: uuid.UUID | None, corrects: uuid.UUID, on: date, why: Why,
        ids: EntryIds,
    ) -> bool:  # fmt: skip
        """Record the completion (of `follow_up_id`) or, with None, the objection that `corrects`
        names again on another day; False for a retry."""
        fid = str(follow_up_id) if follow_up_id is not None else None
        version = self.book.named(corrects, "corrects", ids, fid)
        values = {"completed_on" if fid else "objected_on": on}
        if self.book.retried(version, why.reason, values):
            return False
        self.book.check_standing(version, "corrects", ids)
        if fid is None:
            self._objection_corrected(self.tenant, version, on, why.actor, why.correlation_id,
                                      why.reason, why.sealed_note, why.at)  # fmt: skip
        else:
            self._completion_corrected(self.tenant, version, fid, on, why.actor,
                                       why.correlation_id, why.reason, why.sealed_note, why.at)  # fmt: skip
        return True

    def withdraw_completion(
        self, follow_up_id: uuid.UUID | None, withdraws: uuid.UUID, why: Why, ids: EntryIds
    ) -> bool:
        """Withdraw the completion (of `follow_up_id`; the follow-up is due again, if it still
        stands) or, with None, the objection `withdraws` names; False for a retry."""
        fid = str(follow_up_id) if follow_up_id is not None else None
        version = self.book.named(withdraws, "withdraws", ids, fid)
        if self.book.retried(version, why.reason, None):
            return False
        self.book.check_standing(version, "withdraws", ids)
        self._entry_withdrawn(self.tenant, version, self.book.entries[version]["event_type"],
                              why.actor, why.correlation_id, why.reason, why.sealed_note, why.at)  # fmt: skip
        if fid is not None:
            known = self.follow_ups[fid]
            measure_id = known["measure_id"]
            if measure_id is None or self._declined(measure_id):
                self._schedule(fid, known["due_on"], measure_id, why)  # due again
            else:
                self._follow_up_cancelled(self.tenant, fid, why.at.date(), why.actor,
                                          why.correlation_id)  # fmt: skip
        return True

    # -- the follow-ups worked out again --------------------------------------------------------

    def reminder_derived(self, measure_id: str, why: Why) -> None:
        """After a step of the measure was corrected or withdrawn: its re-offer reminder as the
        standing steps make it (closed, moved, or due again)."""
        fid = follow_up_id(self.id, REOFFER, measure_id)
        known, kept = self.follow_ups.get(fid), self.book.kept.get(fid)
        if known is None or kept is None:
            return
        if not self._declined(measure_id):
            if known["completed_on"] is None:
                self._follow_up_cancelled(self.tenant, fid, why.at.date(), why.actor,
                                          why.correlation_id)  # fmt: skip
            return
        after = kept["after_days"]
        due = self.measures[measure_id]["declined_on"] + timedelta(days=after or 0)
        if known["completed_on"] is None and known["due_on"] != due and after is not None:
            self._schedule(fid, due, measure_id, why)
        elif known["completed_on"] is not None and kept["reoffer"] is not None:
            self._schedule(fid, due if after is not None else known["due_on"], measure_id, why)

    def plan_follow_ups_derived(self, actor: str, correlation_id: uuid.UUID, on: date) -> None:
        """The plan's follow-up and evaluation on the day the latest standing revision names
        (scheduled or moved), or closed when none names one."""
        for subject, field in PLAN_DAYS:
            fid = follow_up_id(self.id, subject)
            days = [r[field] for r in self.plan_revisions if r[field] is not None]
            known = self.follow_ups.get(fid)
            if days and (known is None or known["due_on"] != days[-1]):
                self._follow_up_scheduled(
                    self.tenant, fid, subject.value, days[-1], None, actor, correlation_id
                )
            elif not days and known is not None and known["completed_on"] is None:
                self._follow_up_cancelled(self.tenant, fid, on, actor, correlation_id)

    def _declined(self, measure_id: str) -> bool:
        measure = self.measures.get(measure_id)
        return measure is not None and measure.get("state") == MeasureState.DECLINED.value

    def _schedule(self, fid: str, due: date, measure_id: str | None, why: Why) -> None:
        subject = self.follow_ups[fid]["subject"]
        self._follow_up_scheduled(
            self.tenant, fid, subject, due, measure_id, why.actor, why.correlation_id
        )
