"""What the SS 12000 connector decides without I/O: which persons it passes on, the feed records it
makes of them, how long it waits after a failure, and how it words a failure for the operator.

An organiser's person is passed on when one of their enrolments is of a school type and at a
school unit the municipality reads (all, when it names none), or when the organiser's person was
passed on before (so that an enrolment that ended or vanished reaches identify, which ends it). A
person the organiser deleted is passed on with no enrolments: identify ends that organiser's
open enrolments the day before the deletion was read. The record is the SS 12000 `Person` exactly
as the organiser gave it, in the feed's envelope (`shared.contracts.feeds.Ss12000FeedMessage`);
whatever is wrong with it is identify's to say (dead-lettered with the reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

# Deltas ask for what changed since a little before the last complete sync began: the
# organiser's clock and ours may differ by a little, and a repeat is harmless (identify ignores it).
OVERLAP = timedelta(minutes=1)
# Once a day every person is read again: a person the organiser dropped without listing them in
# /deletedEntities (many systems do) is then passed on as deleted.
FULL_SYNC_EVERY = timedelta(days=1)
# A subscription that expires sooner than this is no use (renewed at half its time).
MIN_SUBSCRIPTION = timedelta(minutes=5)
RETRY_AFTER_CAP = 3600.0
# After credentials are refused, the operator must act: try again now and then, not hammer.
CREDENTIALS_RETRY = 300.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0


@dataclass(frozen=True)
class PersonRef:
    """An organiser's person as the connector remembers them: its id and civic number."""

    person_id: str
    civic_no: str


def person_ref(item: object) -> PersonRef | None:
    """The id and civic number of a person item, when it has both as text."""
    if not isinstance(item, dict):
        return None
    person_id, civic = item.get("id"), item.get("civicNo")
    value = civic.get("value") if isinstance(civic, dict) else None
    if isinstance(person_id, str) and person_id and isinstance(value, str) and value:
        return PersonRef(person_id, value)
    return None


def wanted(item: object, school_types: Collection[str], school_units: Collection[str]) -> bool:
    """Whether a person item has an enrolment the municipality reads (any, without filters)."""
    enrolments = item.get("enrolments") if isinstance(item, dict) else None
    if not isinstance(enrolments, list):
        return False
    for enrolment in enrolments:
        if not isinstance(enrolment, dict):
            continue
        unit = enrolment.get("enroledAt")
        unit_id = unit.get("id") if isinstance(unit, dict) else None
        if school_types and enrolment.get("schoolType") not in school_types:
            continue
        if school_units and unit_id not in school_units:
            continue
        return True
    return False


def deleted_person(ref: PersonRef) -> dict[str, Any]:
    """The person as the organiser now lists them: deleted, so no enrolments."""
    return {"id": ref.person_id, "civicNo": {"value": ref.civic_no}, "enrolments": []}


def feed_line(
    person: object, *, tenant: str, source: str, observed_at: datetime, live: bool
) -> bytes:
    """The SS 12000 feed record of one person item (the item as given, never changed)."""
    return orjson.dumps(
        {
            "feed": "ss12000",
            "schema_version": 1,
            "record_id": str(uuid.uuid4()),
            "tenant": tenant,
            "observed_at": observed_at.isoformat(),
            "source": source,
            "live": live,
            "person": person,
        }
    )


def to_publish(
    items: Iterable[object],
    known: Collection[str],
    school_types: Collection[str],
    school_units: Collection[str],
) -> tuple[list[object], list[PersonRef], int]:
    """(items to pass on, the persons among them to remember, how many were not for us)."""
    out: list[object] = []
    refs: list[PersonRef] = []
    skipped = 0
    for item in items:
        ref = person_ref(item)
        if (
            ref is not None
            and ref.person_id not in known
            and not wanted(item, school_types, school_units)
        ):
            skipped += 1
            continue
        out.append(item)
        if ref is not None:
            refs.append(ref)
    return out, refs, skipped


def retry_delay(
    attempt: int, retry_after: float | None = None, rand: Callable[[], float] | None = None
) -> float:
    """Seconds to wait before attempt `attempt + 1` after `attempt` failures in a row:
    exponential (1 s, 2 s, 4 s … at most 5 minutes), each between half and all of it at random
    so that organisers failing together do not retry together; never less than the organiser's
    `Retry-After` (itself at most an hour)."""
    ceiling: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(0, attempt - 1), 20))
    delay = ceiling * (0.5 + 0.5 * (rand() if rand else 1.0))
    return max(delay, min(retry_after or 0.0, RETRY_AFTER_CAP))


def problem_text(name: str, status: int | None, reason: str, variable: str) -> str:
    """The operator's message for a failed call: the organiser, what happened, what to check."""
    if status == 401:
        return (
            f"{name}: the organiser refused kaa's credentials (HTTP 401): check client_id, the "
            f"secret in {variable} and token_url in the connectors file"
        )
    if status == 403:
        return (
            f"{name}: the organiser denied access (HTTP 403): check that kaa's client is "
            "granted reading persons (and subscriptions) for this municipality"
        )
    if status == 429:
        return f"{name}: too many requests (HTTP 429): waiting as the organiser asks"
    if status is not None and status >= 500:
        return f"{name}: the organiser's system failed (HTTP {status}): trying again later"
    if status is not None:
        return f"{name}: unexpected answer (HTTP {status}) {reason}".rstrip()
    return f"{name}: {reason}"
