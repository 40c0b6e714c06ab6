"""The public contract: envelopes, events, feed records, exported schemas."""

from __future__ import annotations

import ast
import json
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft7Validator
from pydantic import TypeAdapter, ValidationError

from kaa.supervisor import CONSUMES
from shared.contracts import events as contract_events
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    ALL_EVENTS,
    EVENTS_BY_TOPIC,
    ContactAttempted,
    ContactDetailsRecorded,
    YouthIdentified,
    identify,
    measures,
    outreach,
    parse_event,
    retention,
)
from shared.contracts.export import SERVICES, export
from shared.contracts.feeds import Ss12000FeedMessage
from shared.contracts.topics import (
    IDENTIFY_EVENTS,
    MEASURES_EVENTS,
    OUTREACH_EVENTS,
    PUBLISHER,
    RETENTION_EVENTS,
    SUBSCRIPTIONS,
)
from shared.contracts.validation import describe
from shared.messaging.consumer import Delivery, Rejected
from shared.messaging.parsing import event_parser

# A copy of Skolverket's published sample (../shared/reference/ss12000/), with its licence.
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "ss12000" / "sample-person.json"


def envelope(**overrides: object) -> dict[str, object]:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    values: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "tenant": "0180",
        "youth_id": uuid.uuid4(),
        "occurred_at": now,
        "recorded_at": now,
        "actor": "user:anna",
        "correlation_id": uuid.uuid4(),
    }
    values.update(overrides)
    return values


def test_events_round_trip_through_bytes_and_are_keyed_by_youth() -> None:
    event = ContactAttempted(
        **envelope(),
        contact_attempt_id=uuid.uuid4(),
        channel="sms",
        outcome="reached",
        attempted_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
    )
    assert parse_event(event.to_bytes()) == event
    assert event.key() == str(event.youth_id).encode()
    assert event.topic == "kaa.outreach.events.v1"


def test_a_bad_tenant_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        YouthIdentified(
            **envelope(tenant="180"),
            scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 1),
            scope_ends_on=date(2028, 1, 1),
            rule_version="simple-v1",
            facts={},
        )
    assert describe(caught.value).startswith("tenant:")


def test_the_reference_ss12000_person_is_accepted_as_published_apart_from_its_number() -> None:
    person = json.loads(REFERENCE.read_text())
    message = {
        "record_id": str(uuid.uuid4()),
        "tenant": "0180",
        "observed_at": "2026-03-01T00:00:00Z",
        "person": person,
    }
    adapter = TypeAdapter(Ss12000FeedMessage)
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(message)
    reason = describe(caught.value)
    assert reason == "person.civicNo.value: check digit does not match"
    assert person["civicNo"]["value"] not in reason, "the number itself never appears in a reason"

    person["civicNo"]["value"] = "200112240122"  # same person, valid check digit
    parsed = adapter.validate_python(message)
    assert parsed.person.enrolments[0].schoolType == "GY"
    assert parsed.person.enrolments[0].startDate is None


def test_export_writes_json_schema_per_message_and_asyncapi_per_service(tmp_path: Path) -> None:
    written = export(tmp_path)
    names = {p.name for p in written}
    for event in ALL_EVENTS:
        assert f"{event.__name__}.schema.json" in names
    identify = json.loads((tmp_path / "asyncapi-identify.json").read_text())
    assert identify["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in identify["channels"].values()}
    assert addresses == {
        "kaa.feeds.population.v1",
        "kaa.feeds.ss12000.v1",
        "kaa.feeds.completions.v1",
        "kaa.identify.events.v1",
    }
    assert "YouthIdentified" in identify["components"]["messages"]
    population = identify["channels"]["kaa_feeds_population_v1"]["messages"]
    assert set(population) == {"PopulationFeedMessage", "FeedWatermark"}, "records and markers"
    assert "FeedWatermark.schema.json" in names
    schema = json.loads((tmp_path / "schemas" / "YouthIdentified.schema.json").read_text())
    assert {"event_id", "tenant", "youth_id", "correlation_id"} <= set(schema["required"])


# -- the documents follow the code ------------------------------------------------------------

ASYNCAPI_SCHEMA = Path(__file__).parents[1] / "fixtures" / "asyncapi" / "asyncapi-3.0.0.schema.json"
SERVICE_CODE = Path(__file__).parents[2] / "services"


def constructed_events(service: str) -> set[str]:
    """The event classes a service's code constructs (what it really publishes)."""
    names = {event.__name__ for event in ALL_EVENTS}
    found: set[str] = set()
    for path in (SERVICE_CODE / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            called = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if called and node.func.id in names:  # type: ignore[attr-defined]
                found.add(node.func.id)  # type: ignore[attr-defined]
    return found


def test_every_event_of_the_union_is_exported_where_its_publisher_sends_it(
    tmp_path: Path,
) -> None:
    assert ContactDetailsRecorded in ALL_EVENTS, "read off the union, not a list kept by hand"
    export(tmp_path)
    for event in ALL_EVENTS:
        assert (tmp_path / "schemas" / f"{event.__name__}.schema.json").exists(), event
        document = json.loads((tmp_path / f"asyncapi-{PUBLISHER[event.topic]}.json").read_text())
        sent = {
            document["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
            for op in document["operations"].values()
            if op["action"] == "send"
        }
        assert event.topic in sent, event
        assert event.__name__ in document["components"]["messages"], event


EVENT_MODULES = {
    identify: IDENTIFY_EVENTS,
    outreach: OUTREACH_EVENTS,
    measures: MEASURES_EVENTS,
    retention: RETENTION_EVENTS,
}


@pytest.mark.parametrize("module", EVENT_MODULES, ids=lambda module: module.__name__)
def test_every_event_a_module_declares_is_in_the_union_and_on_the_module_s_topic(
    module: ModuleType,
) -> None:
    """An event written in its module but left out of the catalogue's union would be neither
    parsable nor in the documents; one on another publisher's topic is in the wrong module."""
    declared = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, IntegrationEvent)
        and value.__module__ == module.__name__
    ]
    assert declared, f"{module.__name__} declares no event"
    for event in declared:
        assert event in ALL_EVENTS, f"{event.__name__}: missing from the catalogue's union"
        assert event.__name__ in contract_events.__all__, (
            f"{event.__name__}: not exported by the package"
        )
        assert event.topic == EVENT_MODULES[module], f"{event.__name__}: on another topic"
    assert {e for e in ALL_EVENTS if e.topic == EVENT_MODULES[module]} == set(declared)


def test_what_each_service_publishes_and_consumes_is_what_its_documents_say() -> None:
    every: set[str] = set()
    for service, roles in SERVICES.items():
        made = constructed_events(service)
        every |= made
        published = {event.topic for event in ALL_EVENTS if event.__name__ in made}
        assert published <= set(roles["send"]), f"{service} publishes more than its documents"
        assert roles["receive"] == list(SUBSCRIPTIONS[service])
    assert every == {event.__name__ for event in ALL_EVENTS}, "an event no service publishes"
    # The consumers read the same declaration (a case service refuses to start otherwise).
    assert CONSUMES is SUBSCRIPTIONS
    assert SERVICES["outreach"]["receive"] == [IDENTIFY_EVENTS, MEASURES_EVENTS]


def test_the_asyncapi_documents_are_valid_asyncapi_3(tmp_path: Path) -> None:
    export(tmp_path)
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    for service in SERVICES:
        document = json.loads((tmp_path / f"asyncapi-{service}.json").read_text())
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator.iter_errors(document)
        ]
        assert problems == [], f"asyncapi-{service}.json: {problems[:5]}"
        refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(document))
        for ref in refs:  # every reference resolves inside the document
            node: Any = document
            for part in ref.split("/"):
                node = node[part]


def test_the_validation_can_fail() -> None:
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    assert list(validator.iter_errors({"asyncapi": "3.0.0", "info": {"title": "x"}}))


def test_a_consumer_parses_a_topic_with_the_events_declared_for_it() -> None:
    """The consumers' parsing follows the same declarations: an event on another topic's
    channel is refused, as the documents say it cannot be there."""
    parse = event_parser(SUBSCRIPTIONS["register"], "ns.", ["0180"])
    attempt = ContactAttempted(
        event_id=uuid.uuid4(), tenant="0180", youth_id=uuid.uuid4(),
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC), recorded_at=datetime(2026, 3, 1, tzinfo=UTC),
        actor="user:anna", correlation_id=uuid.uuid4(), contact_attempt_id=uuid.uuid4(),
        channel="phone", outcome="reached", attempted_at=datetime(2026, 3, 1, tzinfo=UTC),
    ).to_bytes()  # fmt: skip
    read = parse(Delivery(f"ns.{OUTREACH_EVENTS}", 0, 0, None, attempt))
    assert isinstance(read, ContactAttempted)
    wrong = parse(Delivery(f"ns.{IDENTIFY_EVENTS}", 0, 0, None, attempt))
    assert isinstance(wrong, Rejected)
    assert "'event_type' does not match any of the expected tags" in wrong.reason
    elsewhere = parse(Delivery("ns.kaa.feeds.population.v1", 0, 0, None, attempt))
    assert isinstance(elsewhere, Rejected)
    for topic, events in EVENTS_BY_TOPIC.items():
        assert events, f"{topic} carries no event"
