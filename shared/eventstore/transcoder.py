"""The transcoder every event store uses: the library's JSON format, written and read by orjson.

The library's `JSONTranscoder` runs the standard-library encoder, which calls back into Python for
every UUID, date and datetime of an event, and a decoder that calls back into Python for every
JSON object it reads. This one walks an event's state once, replacing each value of a registered
type by the library's tag (`{"_type_": "date_iso", "_data_": "2008-05-01"}`), and hands the result
to orjson; reading, orjson parses and one walk turns the tags back into values.

The bytes are the library's, byte for byte: compact separators, UTF-8 rather than ASCII escapes,
keys in the event's order (`tests/unit/eventstore/test_transcoder.py` compares them on every kind
of value). Where orjson and the standard library would disagree, the event goes the library's way:
a float (orjson writes `1e-7` where Python writes `1e-07`, and reads an integer beyond 64 bits as
a float), a value of a type that is neither plain JSON nor registered (a subclass, a set), an
integer beyond 64 bits, a key that is not a string, a constant such as `NaN`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)

_PLAIN = frozenset((str, int, bool, type(None)))
_READ_AGAIN = frozenset((dict, list, float))
_ORIGINATOR = frozenset(("originator_id", "originator_version"))


class DateAsISO(Transcoding):
    """Calendar dates (scope entry, birthdays) in stored events."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# The same conversions as these transcodings' own methods, without a method call around them.
_DIRECT: dict[type[Transcoding], tuple[Callable[[Any], Any], Callable[[str], Any]]] = {
    UUIDAsHex: (attrgetter("hex"), UUID),
    DatetimeAsISO: (datetime.isoformat, datetime.fromisoformat),
    DateAsISO: (date.isoformat, date.fromisoformat),
    DecimalAsStr: (str, Decimal),
}
# Values orjson writes exactly as these transcodings' `isoformat()` would (the test compares them
# over the whole range of years): a date always, a datetime without a zone or in UTC (orjson
# writes an offset with seconds differently). The tag then holds the value and orjson writes it.
_NEVER, _ALWAYS, _NAIVE_OR_UTC = 0, 1, 2
_AS_IS = {DateAsISO: _ALWAYS, DatetimeAsISO: _NAIVE_OR_UTC}


class _Unusual(Exception):
    """A value orjson would not write or read as the standard library does."""


class OrjsonTranscoder(JSONTranscoder):
    """The library's JSON transcoder with orjson doing the writing and the reading."""

    def __init__(self) -> None:
        super().__init__()
        self._writers: dict[type, tuple[str, Callable[[Any], Any], int]] = {}
        self._readers: dict[str, Callable[[Any], Any]] = {}
        self._str_readers: dict[str, Callable[[str], Any]] = {}

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        write, read_str = _DIRECT.get(type(transcoding), (transcoding.encode, transcoding.decode))
        as_is = _AS_IS.get(type(transcoding), _NEVER)
        self._writers[transcoding.type] = (transcoding.name, write, as_is)
        self._readers[transcoding.name] = transcoding.decode
        self._str_readers[transcoding.name] = read_str

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._tagged(obj))
        except (_Unusual, orjson.JSONEncodeError):
            return super().encode(obj)

    def encode_event(self, state: dict[str, Any]) -> bytes:
        """An event's state as the library's mapper writes it: without its originator id and
        version (read from the stored event's columns), the rest in the event's order."""
        try:
            plain, tagged = _PLAIN, self._tagged
            return orjson.dumps(
                {
                    k: v if type(v) in plain else tagged(v)
                    for k, v in state.items()
                    if k not in _ORIGINATOR
                }
            )
        except (_Unusual, orjson.JSONEncodeError):
            return super().encode({k: v for k, v in state.items() if k not in _ORIGINATOR})

    def decode(self, data: bytes) -> Any:
        try:
            return self._untagged(orjson.loads(data))
        except (_Unusual, orjson.JSONDecodeError):
            return super().decode(data)

    def _tagged(self, value: Any) -> Any:
        """`value` with every value of a registered type replaced by its tag."""
        kind = type(value)
        writer = self._writers.get(kind)
        if writer is not None:
            name, write, as_is = writer
            if as_is and (as_is == _ALWAYS or value.tzinfo is None or value.tzinfo is UTC):
                return {"_type_": name, "_data_": value}
            data = write(value)
            return {"_type_": name, "_data_": data if type(data) in _PLAIN else self._tagged(data)}
        if kind in _PLAIN:
            return value
        plain, tagged = _PLAIN, self._tagged
        if kind is dict:
            return {k: v if type(v) in plain else tagged(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [v if type(v) in plain else tagged(v) for v in value]
        raise _Unusual  # floats, subclasses, unregistered types: the library decides

    def _untagged(self, value: Any) -> Any:
        """`value` as read, with every tag replaced by the value it stands for, innermost first
        (as the library's object hook sees them)."""
        kind = type(value)
        if kind is dict:
            untagged, read_str = self._untagged, self._str_readers.get
            for k, v in value.items():
                kind = type(v)
                if kind is dict:
                    # The common tag, a string for a registered name, read here in one step.
                    name, data = v.get("_type_"), v.get("_data_")
                    read = read_str(name) if len(v) == 2 and type(name) is str else None
                    value[k] = read(data) if read is not None and type(data) is str else untagged(v)
                elif kind is list or kind is float:
                    value[k] = untagged(v)
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self._read_tag(value["_type_"], value["_data_"])
            return value
        if kind is list:
            again, untagged = _READ_AGAIN, self._untagged
            return [untagged(v) if type(v) in again else v for v in value]
        if kind is float:
            raise _Unusual  # an integer beyond 64 bits reads as a float in orjson
        return value

    def _read_tag(self, name: Any, data: Any) -> Any:
        if type(data) is str:
            read_str = self._str_readers.get(name)
            if read_str is not None:
                return read_str(data)
        read = self._readers.get(name)
        if read is None:
            raise _Unusual  # the library raises its own error for it
        return read(data)
