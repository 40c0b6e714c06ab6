"""The mapper every event store uses: the library's `Mapper`, with what it looks up per event
(the event class's topic and version, the stored topic's class) looked up once per class.

Stored events are the library's: the same topic, the same state (the library's own steps run
for an event class with upcasting, `class_version` above 1, and with a compressor or a cipher).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import get_topic, resolve_topic

from shared.eventstore.transcoder import OrjsonTranscoder


class EventMapper(Mapper[UUID]):
    """The library's mapper, with per-class look-ups done once and the state written without
    an intermediate copy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing: dict[type, str | None] = {}
        self._reading: dict[tuple[str, type], tuple[type, Any] | None] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        cls = type(domain_event)
        try:
            topic = self._writing[cls]
        except KeyError:
            topic = self._writing[cls] = self._direct_topic(cls)
        if topic is None:
            return super().to_stored_event(domain_event)
        state = vars(domain_event)
        transcoder = self.transcoder
        assert isinstance(transcoder, OrjsonTranscoder)
        return StoredEvent(
            originator_id=state["originator_id"],
            originator_version=state["originator_version"],
            topic=topic,
            state=transcoder.encode_event(state),
        )

    def _direct_topic(self, cls: type) -> str | None:
        """The class's topic when its events may be written without the library's steps."""
        if getattr(cls, "class_version", 1) > 1 or self.compressor or self.cipher:
            return None
        if not isinstance(self.transcoder, OrjsonTranscoder):
            return None
        return get_topic(cls)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        key = (stored_event.topic, type(stored_event.originator_id))
        try:
            known = self._reading[key]
        except KeyError:
            known = self._reading[key] = self._direct_class(*key)
        if known is None:
            return super().to_domain_event(stored_event)
        cls, id_convertor = known
        try:
            event_state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception:  # the library's error, naming the event
            return super().to_domain_event(stored_event)
        event_state["originator_id"] = id_convertor(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        event_state.pop("class_version", None)  # written by a version above 1: not this class
        domain_event: Any = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event  # type: ignore[no-any-return]

    def _direct_class(self, topic: str, id_type: type) -> tuple[type, Any] | None:
        """The class of a stored topic, and how its originator id is read, when its events may be
        read without the library's steps (None: the library's steps, and its errors)."""
        if self.compressor or self.cipher:
            return None
        try:
            cls = resolve_topic(topic)
            if getattr(cls, "class_version", 1) > 1:
                return None
            return cls, find_id_convertor(cls, id_type)
        except Exception:  # the library raises its own error for it
            return None
