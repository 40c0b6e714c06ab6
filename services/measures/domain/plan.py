"""The individual plan (DOMAIN.md section 4): what a revision holds, what makes it add up, and
when a request is a retry of a revision already recorded.

A revision's words (the goal, the mapping, the efforts' descriptions, other actors and end
reasons) are personal data: they are recorded sealed with the youth's data key (`PlanText`) and
compared by a digest keyed with it. Who is responsible for an effort and its dates are recorded in
the clear (`effort_structure`). Revisions are never changed; the plan in force on a day is the
latest revision valid from then or earlier.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from shared.casework.domain import CommandRefused
from shared.contracts.events import EffortText, PlanMapping, PlanText
from shared.crypto import YouthSealer

EFFORT_STRUCTURE = ("effort_id", "responsible", "start_date", "end_date")
EFFORT_WORDS = ("description", "other_actor", "end_reason")


def plan_text(
    goal: str, mapping: dict[str, list[str]], efforts: Sequence[Mapping[str, Any]]
) -> bytes:
    """What the caseworker wrote in a revision, as the plaintext that is sealed."""
    return (
        PlanText(
            goal=goal,
            mapping=PlanMapping(**mapping),
            efforts=[EffortText(**{k: e.get(k) for k in EFFORT_WORDS}) for e in efforts],
        )
        .model_dump_json()
        .encode()
    )


def effort_structure(efforts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The efforts as they are recorded in the clear: who is responsible and when."""
    return [{k: e.get(k) for k in EFFORT_STRUCTURE} for e in efforts]


def same_efforts(recorded: Sequence[Mapping[str, Any]], given: Sequence[Mapping[str, Any]]) -> bool:
    """The same efforts, but for the ids made up for efforts that came without one."""

    def content(efforts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "effort_id"} for e in effort_structure(efforts)]

    return content(recorded) == content(given)


def text_digest(revision: Mapping[str, Any], sealer: YouthSealer) -> str:
    """The keyed digest of a recorded revision's words (one recorded before the words were sealed
    holds them in the clear)."""
    if revision.get("text_digest") is not None:
        return str(revision["text_digest"])
    plain = plan_text(revision["goal"], revision["mapping"], revision["efforts"])
    return sealer.digest(plain, PlanText.PURPOSE)


def same_revision(
    earlier: Mapping[str, Any],
    *,
    valid_from: date | None,
    follow_up_on: date | None,
    evaluation_on: date | None,
    digest: str,
    structure: Sequence[Mapping[str, Any]],
    sealer: YouthSealer,
) -> bool:
    """Whether a request is the recorded revision `earlier` again. `valid_from` None: the client
    left it to its default (today), which is then not part of the content (a retry the next day
    is the same request)."""
    compared: dict[str, date | None] = {
        "follow_up_on": follow_up_on,
        "evaluation_on": evaluation_on,
    }
    if valid_from is not None:
        compared["valid_from"] = valid_from
    return (
        all(earlier[k] == v for k, v in compared.items())
        and text_digest(earlier, sealer) == digest
        and same_efforts(earlier["efforts"], structure)
    )


def revision_with_id(
    revisions: Sequence[Mapping[str, Any]], revision_id: uuid.UUID
) -> Mapping[str, Any] | None:
    """The recorded revision a client's `revision_id` names, if any."""
    for earlier in revisions:
        if earlier.get("revision_id") == str(revision_id):
            return earlier
    return None


def check_revision(
    revisions: Sequence[Mapping[str, Any]],
    valid_from: date,
    efforts: Sequence[Mapping[str, Any]],
    follow_up_on: date | None,
    evaluation_on: date | None,
) -> None:
    """Refuse a new revision that does not add up, naming the field: one valid before the latest
    revision, an effort ending before it starts or ended without its end date, an effort of
    another actor who is not named, a follow-up or evaluation before the revision is valid."""
    if revisions and valid_from < revisions[-1]["valid_from"]:
        raise CommandRefused("valid_from", "is before the valid_from of the plan's latest revision")
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


def plan_on(revisions: Sequence[dict[str, Any]], day: date) -> dict[str, Any] | None:
    """The revision in force on `day`: the latest one valid from then or earlier."""
    in_force = [r for r in revisions if r["valid_from"] <= day]
    return in_force[-1] if in_force else None
