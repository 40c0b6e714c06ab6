"""A person's facts of one save stored as one event: `FactsRecorded`.

A feed batch gives most persons two or three fact events (`Registered` for a person new to
identify, then `PopulationRecorded`, `EnrolmentsObserved`, ...), each paying the event library's
per-event storage: its own row and index entries in the events table, its own encoding, its own
decoding and object when the person is loaded again. The facts themselves are decided exactly as
before, event by event, on the aggregate (`Person.record_population`, `observe_enrolments`, ...);
only when the person is saved does `compact` replace each run of two or more consecutive fact
events by one `FactsRecorded` holding them, each with its own topic and state as it would have
been stored alone.

A save's events then take consecutive versions again, each stored event one version (a
`FactsRecorded` the one of the first event it holds), and the person takes the last: the stream
has no gaps, so two writers that loaded the same version both write the next one and the second
fails on it, as without compaction (a gap would let a single event written by one land beside
the held events of the other). Loading a person replays the held events one by one through their
own classes (`mutate`) and leaves the person at the version of the `FactsRecorded`, so the person
is exactly the one that was saved. Events stored before, one per row, are read as before.
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
        # The held events' own checks (each the next version) run on versions counted from this
        # event's; the person then takes this event's version, the one it is stored under.
        for offset, (topic, stored) in enumerate(self.events):
            cls = resolve_topic(topic)
            # Only events of a class at version 1 are held (`compact`): a class upcast since
            # reads its held states through its upcasts, as the library reads one stored alone.
            state, version = dict(stored), 1
            while version < getattr(cls, "class_version", 1):
                getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
                version += 1
            held = object.__new__(cls)
            object.__setattr__(
                held,
                "__dict__",
                {
                    **state,
                    "originator_id": self.originator_id,
                    "originator_version": self.originator_version + offset,
                },
            )
            aggregate = held.mutate(aggregate)
        aggregate.version = self.originator_version
        aggregate.modified_on = self.timestamp
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
    by one `FactsRecorded` (the others, decisions and what is published, stay as they are), and
    number them all again from the first, the person taking the last."""
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
    if len(out) == len(pending):
        return
    first = pending[0].originator_version
    for offset, event in enumerate(out):
        object.__setattr__(event, "originator_version", first + offset)
    pending[:] = out
    person.version = first + len(out) - 1
    # The person's facts kept (`Person.facts`) are checked against the records they were built
    # from, so renumbering leaves them right; dropping them only costs one build.
    vars(person).pop("_facts_at_version", None)


def _held(run: list[Any]) -> list[Any]:
    if len(run) < 2:
        return run
    first = run[0]
    return [
        FactsRecorded(
            originator_id=first.originator_id,
            originator_version=first.originator_version,
            timestamp=run[-1].timestamp,
            events=[
                [get_topic(type(e)), {k: v for k, v in vars(e).items() if k not in _ORIGINATOR}]
                for e in run
            ],
        )
    ]
