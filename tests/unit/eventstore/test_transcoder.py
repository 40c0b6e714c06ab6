"""The orjson transcoder writes the library's bytes and reads them back to the library's values:
every stored event stays readable by either, whatever the value (generated here over the whole
range of what JSON and the registered transcodings hold, and the stored events of a person)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.eventstore import DateAsISO, KafkaFedApplication, OrjsonTranscoder

Transcoder = TypeVar("Transcoder", bound=JSONTranscoder)
STORED = Path(__file__).parent.parent / "identify" / "stored_person_events.json"


def registered(transcoder: Transcoder) -> Transcoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY = registered(JSONTranscoder())
ORJSON = registered(OrjsonTranscoder())

zones = st.sampled_from([None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(seconds=-30))])
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: orjson refuses them, the library writes them
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),  # control characters, quotes, escapes
    st.uuids(),
    st.dates(),
    st.datetimes(timezones=zones),
    st.decimals(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.builds(lambda v: {"_type_": "date_iso", "_data_": v}, inner),  # looks like a tag
    ),
    max_leaves=12,
)


def outcome(read: Any, written: bytes) -> Any:
    """What reading gives: the value, or the kind of error (a tag whose data its transcoding
    cannot read fails in both)."""
    try:
        return read(written)
    except Exception as error:  # the error is the outcome compared
        return type(error)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and each value of the same type as the other."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.text(max_size=12), values, max_size=8))
def test_written_as_the_library_writes_and_read_as_it_reads(state: dict[str, Any]) -> None:
    try:
        written = LIBRARY.encode(state)
    except UnicodeEncodeError:  # a lone surrogate: neither can write it
        with pytest.raises(UnicodeEncodeError):
            ORJSON.encode(state)
        return
    assert ORJSON.encode(state) == written
    assert same(outcome(ORJSON.decode, written), outcome(LIBRARY.decode, written))
    # The mapper's path: an event's state, its originator id and version left out.
    event = {"originator_id": uuid.UUID(int=1), "originator_version": 1, **state}
    apart = {k: v for k, v in event.items() if k not in ("originator_id", "originator_version")}
    assert ORJSON.encode_event(event) == LIBRARY.encode(apart)


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 2, 12, tzinfo=timezone(timedelta(hours=1, seconds=30))),
        date(1, 1, 1),
        date(9999, 12, 31),
        uuid.UUID(int=0),
        Decimal("1e-7"),
        1e-7,
        2**64,
        -(2**63) - 1,
        "\x00\x1f\x7f\u2028é😀",
        {"_type_": "date_iso", "_data_": "2008-05-01", "x": 1},
    ],
)
def test_edges_of_each_kind(value: Any) -> None:
    state = {"v": value, "in_list": [value], "nested": {"v": (value, value)}}
    written = LIBRARY.encode(state)
    assert ORJSON.encode(state) == written
    assert same(ORJSON.decode(written), LIBRARY.decode(written))


def test_what_the_library_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(TranscodingNotRegisteredError):
        ORJSON.encode({"a_set": {1, 2}})
    with pytest.raises(TranscodingNotRegisteredError):
        ORJSON.decode(b'{"v":{"_type_":"unknown","_data_":"x"}}')
    with pytest.raises(TypeError):
        ORJSON.encode({1: "not a string key"} | {"x": object()})


def test_text_the_library_accepts_but_orjson_does_not_is_read_by_the_library() -> None:
    for text in (b'{"v":NaN}', b'{"v":Infinity}', b'{"v":18446744073709551616}'):
        assert same(ORJSON.decode(text), LIBRARY.decode(text))


def test_a_persons_stored_events_read_and_write_the_same() -> None:
    stored = json.loads(STORED.read_text())["events"]
    for event in stored:
        state = event["state"].encode()
        read = ORJSON.decode(state)
        assert same(read, LIBRARY.decode(state))
        assert ORJSON.encode(read) == LIBRARY.encode(read) == state


def test_every_event_store_uses_it() -> None:
    app = KafkaFedApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    transcoder = app.mapper.transcoder
    assert isinstance(transcoder, OrjsonTranscoder)
    assert {t.name for t in transcoder.types.values()} >= {"uuid_hex", "date_iso", "datetime_iso"}
