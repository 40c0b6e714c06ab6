"""A person's facts of one save stored as one event: `FactsRecorded`.

A feed batch gives most persons two or three fact events (`Registered` for a person new to
identify, then `PopulationRecorded`, `EnrolmentsObserved`, ...), each paying the event library's
per-event storage: its own row and index entries in the events table, its own encoding, its own
decoding and object when the person is loaded again. The facts themselves are decided exactly as
before, event by event, on the aggregate (`Person.record_population`, `observe_enrolments`, ...);
only when the person is saved does `compact` replace each run of two or more consecutive fact
events by one `FactsRecorded` holding them, each with its own topic and state as it would have
been stored alone.

`FactsRecorded` takes the version of the last event it holds, so the versions of the events saved
with it, and of every later one, are those the person would have had without it (the public
events' ids, made from them, are the same). Loading a person replays the held events one by one
through their own classes (`mutate`), with the versions they had, so the person is exactly the
one that was saved. Events stored before, one per row, stay as they are and are read as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic, register_topic, resolve_topic

from services.identify.domain.person import TOPIC, Person

_ORIGINATOR = ("originator_id", "originator_version")


@dataclass(frozen=True)
class FactsRecorded(DomainEvent):
    """Consecutive fact events of one person, saved together: [topic, state] each, the state as
    the event would have been stored alone (without its originator id and version)."""

    TOPIC: ClassVar[str] = f"{TOPIC}.FactsRecorded"  # stored events are found by it: never change

    events: list[list[Any]]

    def mutate(self, aggregate: Any) -> Any:
        first = self.originator_version - len(self.events) + 1
        for offset, (topic, state) in enumerate(self.events):
            cls = resolve_topic(topic)
            if getattr(cls, "class_version", 1) != 1:
                raise TypeError(f"{topic}: a held event of an upcast class (read it alone)")
            held = object.__new__(cls)
            object.__setattr__(
                held,
                "__dict__",
                {
                    **state,
                    "originator_id": self.originator_id,
                    "originator_version": first + offset,
                },
            )
            aggregate = held.mutate(aggregate)
        return aggregate


register_topic(FactsRecorded.TOPIC, FactsRecorded)

# The facts a feed record gives a person: never published (the relay skips them), so holding them
# together changes nothing outside identify.
COMPACTED: frozenset[type] = frozenset(
    getattr(Person, name)
    for name in (
        "Registered",
        "PopulationRecorded",
        "EnrolmentsObserved",
        "OrganiserEnrolmentsObserved",
        "CompletionRecorded",
    )
)


def compact(person: Person) -> None:
    """Replace each run of two or more consecutive fact events among the person's unsaved events
    by one `FactsRecorded` (the others, decisions and what is published, stay as they are)."""
    pending = person.pending_events
    if len(pending) < 2:
        return
    out: list[Any] = []
    run: list[Any] = []
    for event in pending:
        if type(event) in COMPACTED and getattr(type(event), "class_version", 1) == 1:
            run.append(event)
            continue
        out.extend(_held(run))
        run = []
        out.append(event)
    out.extend(_held(run))
    pending[:] = out


def _held(run: list[Any]) -> list[Any]:
    if len(run) < 2:
        return run
    last = run[-1]
    return [
        FactsRecorded(
            originator_id=last.originator_id,
            originator_version=last.originator_version,
            timestamp=last.timestamp,
            events=[
                [get_topic(type(e)), {k: v for k, v in vars(e).items() if k not in _ORIGINATOR}]
                for e in run
            ],
        )
    ]
