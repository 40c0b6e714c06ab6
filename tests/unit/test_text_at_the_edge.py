"""Every string that reaches kaa is text (shared/contracts/text.py): NUL into each string field.

The walk finds the string fields itself — of every request body and string query parameter of
every service's endpoints, every feed record and every integration event — so a new field that
is a bare `str` fails here until it uses the text type. Each refusal names the field and never
echoes the value.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.auth import ROLES, issue_token
from shared.contracts.events import ALL_EVENTS, AnyEvent, ContactDetails, PersonalDetails
from shared.contracts.feeds import (
    CompletionFeedMessage,
    PopulationFeedMessage,
    Ss12000FeedMessage,
)
from shared.contracts.text import FreeText, Text, text_problem
from tests.unit.apps import SECRET, service_clients

SERVICES = ("identify", "outreach", "measures", "register")
POISON = "a\u0000b"
PATH_VALUES = {
    "youth_id": str(uuid.uuid4()),
    "measure_id": str(uuid.uuid4()),
    "follow_up_id": str(uuid.uuid4()),
    "scope_episode_id": str(uuid.uuid4()),
    "name": "first_contact",
    "code": "own_mentoring",
}


def string_paths(annotation: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every string leaf a value of `annotation` can hold ('*' marks a dict key's
    place, 0 a list item)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from string_paths(typing.get_args(annotation)[0], path)
    elif origin is typing.Literal:
        return
    elif origin in (typing.Union, types.UnionType):
        seen: set[tuple[Any, ...]] = set()
        for arg in typing.get_args(annotation):
            for found in string_paths(arg, path):
                if found not in seen:
                    seen.add(found)
                    yield found
    elif origin in (list, tuple, set, frozenset):
        for arg in typing.get_args(annotation)[:1]:
            yield from string_paths(arg, (*path, 0))
    elif origin is dict:
        key, value = typing.get_args(annotation)
        if key is str or typing.get_origin(key) is typing.Annotated:
            yield (*path, "<key>")
        yield from string_paths(value, (*path, "*"))
    elif annotation is str:
        yield path
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if typing.get_origin(field.annotation) is typing.ClassVar:
                continue
            yield from string_paths(
                typing.Annotated[field.annotation, *field.metadata]
                if field.metadata
                else field.annotation,
                (*path, field.alias or name),
            )


def payload_at(path: tuple[Any, ...], value: str) -> Any:
    """The smallest JSON value with `value` at `path` (the rest of the model may be missing)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if head == 0:
        return [payload_at(rest, value)]
    if head == "*":
        return {"k": payload_at(rest, value)}
    if head == "<key>":
        return {value: "x"}
    return {head: payload_at(rest, value)}


def loc_of(path: tuple[Any, ...]) -> tuple[str, ...]:
    loc: list[str] = []
    for part in path:
        if part == "*":
            loc.append("k")
        elif part == "<key>":
            loc.append(f"{POISON}")  # pydantic names a bad key by itself
        else:
            loc.append(str(part))
    return tuple(loc)


def refused_at(errors: Sequence[Any], where: tuple[str, ...]) -> list[Any]:
    return [e for e in errors if tuple(str(p) for p in e["loc"])[: len(where)] == where]


def check_model(model: Any, wrap: Any = None) -> list[str]:
    """NUL into each string field of `model`; the fields that let it through."""
    adapter = TypeAdapter(model)
    missed = []
    for path in string_paths(model):
        if "<key>" in path:
            continue  # keys are checked where they are allowed at all (dict[Text, Text])
        data = payload_at(path, POISON)
        try:
            adapter.validate_python(data)
        except ValidationError as exc:
            errors = exc.errors(include_input=False)
            if POISON in str(errors) or not refused_at(errors, loc_of(path)):
                missed.append(".".join(map(str, path)))
            continue
        missed.append(".".join(map(str, path)))
    return missed


@pytest.mark.parametrize(
    "model",
    [PopulationFeedMessage, Ss12000FeedMessage, CompletionFeedMessage, PersonalDetails,
     ContactDetails, *ALL_EVENTS],
    ids=lambda m: m.__name__,
)  # fmt: skip
def test_every_string_of_feeds_and_events_refuses_nul(model: type[BaseModel]) -> None:
    assert list(string_paths(model)), "the walk found no string field"
    assert check_model(model) == []


def test_the_walk_finds_nested_strings_and_would_catch_a_bare_str() -> None:
    class Inner(BaseModel):
        name: str
        tags: list[Text]

    class Outer(BaseModel):
        inner: Inner | None
        notes: dict[Text, FreeText]

    assert sorted(map(str, string_paths(Outer))) == sorted(
        map(str, [("inner", "name"), ("inner", "tags", 0), ("notes", "<key>"), ("notes", "*")])
    )
    assert check_model(Outer) == ["inner.name"]  # the bare str lets NUL through


def test_open_ss12000_objects_refuse_nul_in_fields_kaa_does_not_use() -> None:
    person = {"id": "p1", "civicNo": {"value": "200801011230"}, "extra": {"deep": [POISON]}}
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Ss12000FeedMessage).validate_python({"person": person})
    assert "extra.deep.0: holds a NUL character" in str(caught.value)
    assert POISON not in str(caught.value.errors(include_input=False))


def test_events_parse_with_nul_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(AnyEvent).validate_json(
            b'{"event_type": "IndividualPlanRevised", "goal": "a\\u0000b"}'
        )
    assert any(
        e["loc"][-1] == "goal" and e["type"] == "text_control_character"
        for e in caught.value.errors()
    )


@pytest.mark.parametrize(
    ("value", "free", "problem"),
    [
        ("Anna\u0000", False, "holds a NUL character"),
        ("rad ett\nrad två", False, "holds a line break; this field is one line"),
        ("rad ett\r\nrad två\tmed tabb", True, None),
        ("\u0007", True, "holds a control character (U+0007)"),
        ("\u0085", True, "holds a control character (U+0085)"),
        ("\ud800", True, "is not valid Unicode (a lone surrogate)"),
        ("Åsa Öberg-Ängström", False, None),
    ],
)
def test_text_problems(value: str, free: bool, problem: str | None) -> None:
    assert text_problem(value, free_text=free) == problem


# -- over HTTP: every body field and string query parameter of every endpoint ----------------


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, TestClient]]:
    with service_clients() as built:
        yield built


def headers() -> dict[str, str]:
    token = issue_token(SECRET, subject="text", tenant="0180", roles=list(ROLES))
    return {"Authorization": f"Bearer {token}"}


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every endpoint with its full path (FastAPI keeps included routers as they were given)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            inner = prefix + getattr(route.include_context, "prefix", "")
            yield from api_routes(route.original_router.routes, inner)


def routes(clients: dict[str, TestClient]) -> Iterator[tuple[str, TestClient, str, APIRoute]]:
    for service, client in clients.items():
        for path, route in api_routes(client.app.routes):  # type: ignore[attr-defined]
            if path.startswith("/v1/"):
                yield service, client, path, route


def test_every_request_body_field_refuses_nul_naming_it(clients: dict[str, TestClient]) -> None:
    checked, missed = 0, []
    for service, client, path_template, route in routes(clients):
        body = route.body_field
        if body is None:
            continue
        for path in string_paths(body.field_info.annotation):
            if "<key>" in path:
                continue
            method = sorted(route.methods or ())[0]
            answer = client.request(
                method, path_template.format(**PATH_VALUES), headers=headers(),
                json=payload_at(path, POISON),
            )  # fmt: skip
            checked += 1
            field = ".".join(("body", *loc_of(path)))
            named = [e for e in answer.json().get("errors", []) if e["field"].startswith(field)]
            if answer.status_code != 422 or not named:
                missed.append(f"{service} {method} {path_template} {field}: {answer.status_code}")
            assert POISON not in answer.text
    assert checked > 20, "the walk found too few body fields"
    assert missed == []


def query_params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from query_params(sub)


def test_every_string_query_parameter_refuses_nul_naming_it(
    clients: dict[str, TestClient],
) -> None:
    checked, missed = 0, []
    for service, client, path_template, route in routes(clients):
        for param in query_params(route.dependant):
            if not list(string_paths(param.field_info.annotation)):
                continue
            method = sorted(route.methods or ())[0]
            answer = client.request(
                method, path_template.format(**PATH_VALUES), headers=headers(),
                params={param.alias: POISON},
            )  # fmt: skip
            checked += 1
            named = [
                e for e in answer.json().get("errors", []) if e["field"] == f"query.{param.alias}"
            ]
            if answer.status_code != 422 or not named:
                missed.append(f"{service} {method} {path_template} {param.alias}")
            assert POISON not in answer.text
    assert checked >= 3, "the walk found too few string query parameters"
    assert missed == []


def test_events_recorded_before_the_text_type_still_read() -> None:
    """The event log is history: a tab or a control character a field once let through still
    reads (rebuild, replay); only what no store can hold (NUL, a lone surrogate) is refused."""
    adapter = TypeAdapter(AnyEvent)
    old = {
        "event_type": "IndividualPlanRevised", "schema_version": 1, "event_id": str(uuid.uuid4()),
        "tenant": "0180", "youth_id": str(uuid.uuid4()), "occurred_at": "2025-01-01T00:00:00Z",
        "recorded_at": "2025-01-01T00:00:00Z", "actor": "user:anna",
        "correlation_id": str(uuid.uuid4()), "revision": 1, "valid_from": "2025-01-01",
        "goal": "rad ett\nrad två", "mapping": {"goals": ["komvux\tvår"]},
        "efforts": [{"effort_id": str(uuid.uuid4()), "description": "ring\u0007",
                     "responsible": "youth"}],
    }  # fmt: skip
    assert adapter.validate_python(old).goal == "rad ett\nrad två"  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        adapter.validate_python({**old, "goal": POISON})
    with pytest.raises(ValidationError):
        adapter.validate_python({**old, "mapping": {"goals": ["\ud800"]}})
