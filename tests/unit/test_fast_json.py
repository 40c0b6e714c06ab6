"""`FastJson` reads integration events and feed records exactly as their `TypeAdapter` does: the
same value, or the same refusal (the same field named, the same reason), for text with every kind
of character the text types refuse and accept, escaped or raw, short or over a field's limit.

Its own validator (the text checks as patterns in Rust) must also accept exactly what the adapter
accepts: refusing more would stay correct (the adapter answers again) but pay twice.
"""

from __future__ import annotations

import importlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError, SchemaValidator

from kaa.dev import synthetic_feeds
from kaa.dev.synthetic import generate
from shared.contracts import validation
from shared.contracts.events import AnyEvent, ContactAttempted, YouthIdentified
from shared.contracts.feeds import PopulationFeedMessage, Ss12000FeedMessage
from shared.contracts.validation import FastJson

# Each class the text types tell apart: C0 controls with tab and the line breaks, DEL, C1,
# the line and paragraph separators, the non-characters, a NUL; and what they accept: ASCII,
# Swedish letters, a no-break space, a soft hyphen, an astral emoji, an unassigned code point.
_CHARS = st.sampled_from(
    [*"\x00\x01\t\n\r\x0b\x1f\x7f\x80\x85\x9f\u2028\u2029\ufffe\uffff",
     *"aZ09 -:_.@/åäöÅÄÖé\u00a0\u00ad\u0378", "\U0001f600", "\U0010fffd"]
)  # fmt: skip
_TEXT = st.one_of(
    st.text(_CHARS, max_size=12),
    st.builds(lambda c, n: c * n, _CHARS, st.integers(115, 205)),  # around 120 and 200
    st.sampled_from(["user:caseworker", "system:identify", "0180", "GY", "123 45", "SE"]),
)

_EVENTS = {type(e): e.to_bytes() for e in generate(200, "x" * 32).events}
_EVENT_FIELDS: list[tuple[bytes, tuple[Any, ...]]] = [
    (_EVENTS[YouthIdentified], path)
    for path in (("tenant",), ("actor",), ("rule_version",), ("school_background",),
                 ("personal_details",), ("facts", "age"), ("facts", None))
] + [(_EVENTS[ContactAttempted], path) for path in (("tenant",), ("actor",))]  # fmt: skip


def _feeds(out: Path) -> tuple[bytes, bytes]:
    synthetic_feeds.generate(1, "0180", 7, out, date(2026, 9, 1))
    pop = (out / "population.jsonl").read_text().splitlines()[0]
    ss = (out / "ss12000.jsonl").read_text().splitlines()[0]
    return pop.encode(), ss.encode()


_FEED_FIELDS: list[tuple[int, tuple[Any, ...]]] = [
    *((0, ("record", name)) for name in ("personnummer", "given_name", "kommunkod")),
    *((0, ("record", "address", name)) for name in ("street", "postal_code", "city")),
    *((1, ("person", name)) for name in ("id", "givenName", "securityMarking", "unknownField")),
    (1, ("person", "civicNo", "nationality")),
    (1, ("person", None)),  # a key of an extra field
    (1, ("tenant",)),
]


def _with(document: dict[str, Any], path: tuple[Any, ...], text: str) -> dict[str, Any]:
    """`document` with the string at `path` replaced by `text` (None: a new key named `text`)."""
    *parents, last = path
    target = document
    for name in parents:
        target = target[name]
    if last is None:
        target[text] = "x"
    else:
        target[last] = text
    return document


def _outcome(read: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", read(raw)
    except ValidationError as exc:
        return "refused", exc.errors(include_url=False, include_input=False, include_context=False)


def _same(adapter: TypeAdapter[Any], raw: bytes) -> None:
    fast = FastJson(adapter) if id(adapter) not in _FAST else _FAST[id(adapter)]
    _FAST[id(adapter)] = fast
    expected = _outcome(adapter.validate_json, raw)
    assert _outcome(fast.validate_json, raw) == expected
    own = _outcome(fast._fast.validate_json, raw)
    assert own[0] == expected[0]
    if own[0] == "ok":
        assert own == expected


_FAST: dict[int, FastJson[Any]] = {}
_ANY_EVENT: TypeAdapter[Any] = TypeAdapter(AnyEvent)
_POPULATION: TypeAdapter[Any] = TypeAdapter(PopulationFeedMessage)
_SS12000: TypeAdapter[Any] = TypeAdapter(Ss12000FeedMessage)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_EVENT_FIELDS), _TEXT, st.booleans())
def test_an_event_reads_the_same(
    field: tuple[bytes, tuple[Any, ...]], text: str, ascii_: bool
) -> None:
    payload, path = field
    raw = json.dumps(_with(json.loads(payload), path, text), ensure_ascii=ascii_).encode()
    _same(_ANY_EVENT, raw)


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    return _feeds(tmp_path_factory.mktemp("feeds"))


@settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(_FEED_FIELDS), _TEXT, st.booleans())
def test_a_feed_record_reads_the_same(
    feeds: tuple[bytes, bytes], field: tuple[int, tuple[Any, ...]], text: str, ascii_: bool
) -> None:
    which, path = field
    document = _with(json.loads(feeds[which]), path, text)
    raw = json.dumps(document, ensure_ascii=ascii_).encode()
    _same((_POPULATION, _SS12000)[which], raw)


def test_a_refusal_names_the_field_and_the_reason_never_the_value() -> None:
    """The case the fast validator cannot word: the adapter's answer, unchanged."""
    event = json.loads(_EVENTS[YouthIdentified])
    event["rule_version"] = "2018\x00secret"
    with pytest.raises(ValidationError) as refused:
        FastJson(_ANY_EVENT).validate_json(json.dumps(event).encode())
    (error,) = refused.value.errors(include_url=False, include_input=False)
    assert error["loc"] == ("YouthIdentified", "rule_version")
    assert error["msg"] == "holds a NUL character"
    assert "secret" not in str(refused.value.errors(include_url=False, include_input=False))


def test_the_fast_validator_checks_text_in_rust() -> None:
    """No Python text check is left for the strings of the commonest events (else nothing was
    gained); a text field with a pattern of its own (a measure's type) keeps its check."""
    for event in (YouthIdentified, ContactAttempted):
        adapter: TypeAdapter[Any] = TypeAdapter(event)
        fast = FastJson(adapter)
        assert fast._fast.validate_json(_EVENTS[event]) == adapter.validate_json(_EVENTS[event])
        left = repr(fast._fast)
        for check in ("_storable", "_line", "length_validator"):
            assert check not in left


@pytest.mark.parametrize("check", sorted(validation._ACCEPTS), ids="_".join)
def test_each_text_pattern_accepts_exactly_the_code_points_its_check_accepts(
    check: tuple[str, str],
) -> None:
    """The patterns are written out beside the checks they stand for (`text.py`): every code
    point (a lone surrogate reaches neither), so a refusal added to a check and not to its
    pattern fails here."""
    module, name = check
    python_check = getattr(importlib.import_module(module), name)
    in_rust = SchemaValidator({"type": "str", "pattern": validation._ACCEPTS[check]})
    differ = []
    for point in (*range(0xD800), *range(0xE000, 0x110000)):
        try:
            python_check(chr(point))
            accepted = True
        except PydanticCustomError:
            accepted = False
        if in_rust.isinstance_python(chr(point)) != accepted:
            differ.append(f"U+{point:04X}")
    assert differ == []
