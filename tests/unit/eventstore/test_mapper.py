"""The event store's mapper stores and reads events as the library's mapper does: the same
topic, the same bytes, the same event back; events of an upcast class, a compressed store and a
state that cannot be read take the library's own steps (and errors)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    Compressor,
    DatetimeAsISO,
    DecimalAsStr,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import TopicError

from services.identify.domain import Person
from shared.eventstore import DateAsISO, EventMapper, KafkaFedApplication, OrjsonTranscoder

STORED = json.loads(
    (Path(__file__).parent.parent / "identify" / "stored_person_events.json").read_text()
)


def transcoder() -> OrjsonTranscoder:
    made = OrjsonTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        made.register(transcoding)
    return made


class Versioned(Aggregate):
    """An aggregate whose event was upcast once (a field added in version 2)."""

    def __init__(self) -> None:
        self.note = ""

    class Noted(Aggregate.Event):
        class_version = 2
        note: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["note"] = "added by the upcast"

    @event(Noted)
    def noted(self, note: str) -> None:
        self.note = note


def stored_person() -> list[StoredEvent]:
    return [
        StoredEvent(uuid.UUID(STORED["id"]), e["version"], e["topic"], e["state"].encode())
        for e in STORED["events"]
    ]


@pytest.mark.parametrize("compressor", [None, ZlibCompressor()], ids=["plain", "compressed"])
def test_a_persons_events_map_as_the_library_maps_them(compressor: Compressor | None) -> None:
    library = Mapper[uuid.UUID](transcoder(), compressor=compressor)
    ours = EventMapper(transcoder(), compressor=compressor)
    plain = Mapper[uuid.UUID](transcoder())
    stored = [library.to_stored_event(plain.to_domain_event(s)) for s in stored_person()]
    for each in stored:
        event_ = ours.to_domain_event(each)
        theirs = library.to_domain_event(each)
        assert type(event_) is type(theirs)
        assert vars(event_) == vars(theirs)
        assert ours.to_stored_event(event_) == library.to_stored_event(theirs) == each
    person: Any = None
    for each in stored:
        mapped: Any = ours.to_domain_event(each)
        person = mapped.mutate(person)
    assert isinstance(person, Person)
    assert person.version == len(stored)


def test_an_upcast_class_takes_the_library_s_steps() -> None:
    ours = EventMapper(transcoder())
    note = Versioned()
    note.noted("kept")
    created, noted = note.collect_events()
    stored = ours.to_stored_event(noted)
    assert json.loads(stored.state)["class_version"] == 2
    assert ours.to_domain_event(stored).note == "kept"  # type: ignore[attr-defined]
    version_1 = json.loads(stored.state)
    del version_1["class_version"], version_1["note"]
    old = StoredEvent(stored.originator_id, 2, stored.topic, json.dumps(version_1).encode())
    assert ours.to_domain_event(old).note == "added by the upcast"  # type: ignore[attr-defined]
    assert vars(ours.to_domain_event(ours.to_stored_event(created))) == vars(created)


def test_what_cannot_be_read_fails_as_in_the_library() -> None:
    ours = EventMapper(transcoder())
    [first, *_] = stored_person()
    broken = StoredEvent(first.originator_id, 1, first.topic, b"{not json")
    with pytest.raises(MapperDeserialisationError, match=r"Person\.Registered"):
        ours.to_domain_event(broken)
    with pytest.raises(TopicError):
        ours.to_domain_event(StoredEvent(first.originator_id, 1, "nowhere:Gone", first.state))


def test_every_event_store_uses_it() -> None:
    app = KafkaFedApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert isinstance(app.mapper, EventMapper)
    assert isinstance(app.mapper.transcoder, OrjsonTranscoder)
