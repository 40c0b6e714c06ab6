"""The logs of a running deployment: one JSON stream per process, one correlation id followed from
a school's request to the register with one grep, and no personal data in any of them."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from kaa.deployment import Deployment
from shared import personnummer
from shared.logs import CORRELATION_HEADER
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, new_deployment

RNG = random.Random(15)
EIGHTEEN = date(2007, 11, 3)


def person(number: str, given: str, family: str, street: str, postal: str, city: str) -> bytes:
    record = {
        "personnummer": number, "given_name": given, "family_name": family,
        "address": {"street": street, "postal_code": postal, "city": city},
        "kommunkod": "0180", "birth_date": EIGHTEEN.isoformat(), "change_type": "moved_in",
        "effective_date": "2026-01-15",
    }  # fmt: skip
    return json.dumps(
        {"feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
         "tenant": "0180", "observed_at": "2026-01-15T08:00:00Z", "record": record}
    ).encode()  # fmt: skip


def enrolled(number: str) -> bytes:
    unit = {"id": "unit-1", "displayName": "Gymnasiet"}
    return json.dumps(
        {"feed": "ss12000", "record_id": str(uuid.uuid4()), "tenant": "0180",
         "observed_at": "2026-03-01T08:00:00Z",
         "person": {"id": str(uuid.uuid4()), "civicNo": {"value": number},
                    "enrolments": [{"enroledAt": unit, "schoolType": "GY", "cancelled": False,
                                    "educationCode": "NA"}]}}
    ).encode()  # fmt: skip


# Who the run knows: names and addresses no log line may hold (the last one's postal code is bad:
# identify parks the record, naming the field).
PEOPLE = [
    ("Åsa-Märta", "Zylinskå", "Kvarnbäcksgränd 17", "172 99", "Tallbackaby"),
    ("Ingeborgina", "Quarfordtsson", "Ödetorpsstigen 4", "171 98", "Granlidsvik"),
    ("Ulrikander", "Hjelmqvistberg", "Snöklockevägen 9", "ABCDE", "Björkhamnsö"),
]


@pytest.fixture
def logged(infra: RunningInfra, tmp_path: Path) -> Iterator[Deployment]:
    """A deployment whose processes write their logs, and only theirs, into `tmp_path`."""
    made = new_deployment(infra)
    made.logs_dir = tmp_path
    asyncio.run(made.reset())
    try:
        made.start(dict(os.environ))
        yield made
    finally:
        made.stop()
        asyncio.run(made.drop())


def lines_with(logs: Path, service: str, text: str) -> list[dict[str, object]]:
    """`grep text service.log`, as JSON objects."""
    raw = (logs / f"{service}.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in raw if text in line]


def test_one_grep_follows_a_request_and_no_log_holds_personal_data(logged: Deployment) -> None:
    numbers = [personnummer.generate(EIGHTEEN, RNG) for _ in PEOPLE]
    dropout = numbers[0]  # the second is in scope from the population feed alone
    asyncio.run(logged.publish_feed("ss12000", [enrolled(dropout)]))
    asyncio.run(logged.drained())
    lines = [person(n, *p) for n, p in zip(numbers, PEOPLE, strict=True)]
    asyncio.run(logged.publish_feed("population", lines))
    asyncio.run(logged.drained())

    # The school reports the dropout under a correlation id of its own choosing.
    school = str(uuid.uuid4())
    reporter = logged.client("identify", "0180", "school-reporter")
    notified = reporter.post(
        "/v1/school-notifications",
        json={"personnummer": dropout, "kind": "left", "on": TODAY.isoformat(),
              "school_type": "GY", "school_unit": "unit-1"},
        headers={CORRELATION_HEADER: school},
    )  # fmt: skip
    assert notified.status_code == 202, notified.text
    assert notified.headers[CORRELATION_HEADER] == school
    refused = reporter.post("/v1/school-notifications", json={"personnummer": numbers[2][:-1]})
    assert refused.status_code == 422

    # A caseworker's contact attempt with the youth who was in scope from the population feed.
    register = logged.client("register", "0180", "caseworker")
    found = register.get("/v1/youths").json()["items"]
    [youth] = [row["youth_id"] for row in found if row["youth_id"] != notified.json()["youth_id"]]
    caseworker = logged.client("outreach", "0180", "caseworker")
    attempt = str(uuid.uuid4())
    recorded = caseworker.post(
        f"/v1/youths/{youth}/contact-attempts",
        json={"channel": "phone", "outcome": "not_reached",
              "attempted_at": "2026-03-02T09:00:00+01:00"},
        headers={CORRELATION_HEADER: attempt},
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    asyncio.run(logged.drained())
    time.sleep(0.5)  # the last lines reach the files

    logs = logged.logs_dir
    for correlation, service, route in [
        (school, "identify", "/v1/school-notifications"),
        (attempt, "outreach", "/v1/youths/{youth_id}/contact-attempts"),
    ]:
        [request] = [
            line for line in lines_with(logs, service, correlation) if line["event"] == "request"
        ]
        assert (request["route"], request["tenant"], request["actor"]) == (
            route,
            "0180",
            "user:test",
        )
        applied = [
            line for line in lines_with(logs, "register", correlation)
            if line["event"] == "batch applied"
        ]  # fmt: skip
        assert applied, f"the register's log does not name {service}'s correlation id"
        assert {"topic", "partition", "offset"} <= set(applied[0])
        assert {"event_type", "event_types"} & set(applied[0])

    assert_no_personal_data(logs, numbers)


def forms(number: str) -> set[str]:
    """The ways a personnummer may be written: 12 or 10 digits, with or without the dash."""
    return {number, number[2:], f"{number[:8]}-{number[8:]}", f"{number[2:8]}-{number[8:]}"}


def assert_no_personal_data(logs: Path, numbers: list[str]) -> None:
    files = sorted(logs.glob("*.log"))
    assert {f.stem for f in files} == {"identify", "outreach", "measures", "register"}
    secrets = {form for number in numbers for form in forms(number)}
    secrets |= {part for who in PEOPLE for part in who if part != "ABCDE"}
    secrets |= {json.dumps(s)[1:-1] for s in secrets}  # as JSON writes them (\u00e5 for å)
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert text.strip(), f"{file.name} is empty"
        for n, line in enumerate(text.splitlines(), 1):
            assert isinstance(json.loads(line), dict), f"{file.name}:{n} is not one JSON object"
        leaked = sorted(s for s in secrets if s in text)
        # Name the kind of what leaked, never the value (the test's output is a log too).
        assert not leaked, f"{file.name} holds personal data ({len(leaked)} values)"
