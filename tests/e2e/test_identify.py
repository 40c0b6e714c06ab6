"""Identify over Kafka: feeds and school notifications in, exactly the expected scope events out."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from kaa.deployment import Deployment
from shared import personnummer
from shared.contracts.topics import IDENTIFY_EVENTS, SS12000_FEED
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.test_bad_input_and_republication import read_all

RNG = random.Random(4)
OBSERVED = "2026-03-01T08:00:00Z"


def number(born: date) -> str:
    return personnummer.generate(born, RNG)


def samordningsnummer(born: date) -> str:
    nine = f"{born:%y%m}{born.day + 60:02d}{RNG.randrange(1000):03d}"
    return f"{born:%Y%m}{born.day + 60:02d}{nine[6:]}{personnummer.luhn_check_digit(nine)}"


def population(pnr: str, born: date) -> bytes:
    return json.dumps(
        {
            "feed": "population", "record_id": str(uuid.uuid4()), "tenant": "0180", "observed_at": OBSERVED,
            "record": {
                "personnummer": pnr, "given_name": "A", "family_name": "B", "kommunkod": "0180",
                "birth_date": born.isoformat(), "change_type": "baseline", "effective_date": "2026-01-01",
            },
        }
    ).encode()  # fmt: skip


def school(pnr: str, enrolments: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {
            "feed": "ss12000", "record_id": str(uuid.uuid4()), "tenant": "0180", "observed_at": OBSERVED,
            "person": {"id": str(uuid.uuid4()), "civicNo": {"value": pnr}, "enrolments": enrolments},
        }
    ).encode()  # fmt: skip


def completion(pnr: str, kind: str) -> bytes:
    return json.dumps(
        {
            "feed": "completions", "record_id": str(uuid.uuid4()), "tenant": "0180", "observed_at": OBSERVED,
            "completion": {"personnummer": pnr, "kind": kind, "completed_on": "2025-06-12", "source": "betygsdatabasen"},
        }
    ).encode()  # fmt: skip


def enrolment(school_type: str, code: str | None = "NA", **dates: str) -> dict[str, object]:
    unit = {"id": "unit-1", "displayName": "Gymnasiet"}
    return {
        "enroledAt": unit,
        "schoolType": school_type,
        "cancelled": False,
        "educationCode": code,
        **dates,
    }


def identify_events(deployment: Deployment) -> list[dict[str, object]]:
    records = asyncio.run(
        read_all(deployment.bootstrap_servers, f"{deployment.namespace}{IDENTIFY_EVENTS}")
    )
    return [json.loads(value) for value, _ in records if value is not None]


# One deployment: the fixture publishes the feeds and sends the school notifications, keeping what
# each step answered; the tests each check one behaviour, and ask what no step changes themselves.
Identified = dict[str, Any]
SEVENTEEN, EIGHTEEN = date(2008, 9, 14), date(2007, 11, 3)


def people() -> dict[str, tuple[str, date]]:
    """Eight youths of the municipality, by what the feeds say of them; their number and birth."""
    return {
        "out_of_school": (number(SEVENTEEN), SEVENTEEN),  # identified
        "in_gy": (number(SEVENTEEN), SEVENTEEN),  # enrolled: nothing
        "in_im": (number(EIGHTEEN), EIGHTEEN),  # introduktionsprogram after 2018-07-01: nothing
        "too_old": (number(date(2005, 12, 1)), date(2005, 12, 1)),  # 20: nothing
        "studiebevis": (number(EIGHTEEN), EIGHTEEN),  # identified: a studiebevis does not end scope
        "examen": (number(EIGHTEEN), EIGHTEEN),  # completed: nothing
        "samordning": (samordningsnummer(SEVENTEEN), SEVENTEEN),  # identified
        "dropout": (number(EIGHTEEN), EIGHTEEN),  # enrolled, then the school reports them leaving
    }


def publish_the_feeds(deployment: Deployment, pnr: dict[str, str], found: Identified) -> None:
    """School records and completions first, then the population register."""
    asyncio.run(
        deployment.publish_feed("ss12000", [
            school(pnr["in_gy"], [enrolment("GY")]),
            school(pnr["in_im"], [enrolment("GY", "IMYRK")]),
            school(pnr["dropout"], [enrolment("GY")]),
            school(pnr["out_of_school"], [enrolment("XX")]),  # unknown school type: dead letter
            school(pnr["studiebevis"], [enrolment("GY", startDate="2025-08-20", endDate="2025-06-01")]),  # end before start
        ])
    )  # fmt: skip
    completions = [completion(pnr["studiebevis"], "studiebevis"),
                   completion(pnr["examen"], "gymnasieexamen")]  # fmt: skip
    asyncio.run(deployment.publish_feed("completions", completions))
    asyncio.run(deployment.drained())
    lines = [population(p, born) for p, born in found["people"].values()]
    asyncio.run(deployment.publish_feed("population", lines))
    asyncio.run(deployment.drained())
    found["events"] = identify_events(deployment)
    ss12000_dlq = f"{deployment.namespace}{SS12000_FEED}.dlq"
    found["dlq"] = asyncio.run(read_all(deployment.bootstrap_servers, ss12000_dlq))


def report_the_dropout(deployment: Deployment, pnr: dict[str, str], found: Identified) -> None:
    """The school reports the dropout: how long until the youth is in the register."""
    register, reporter = found["register"], found["reporter"]
    found["known_before"] = register.get("/v1/summary").json()["known"]
    left = {"personnummer": pnr["dropout"], "kind": "left", "on": TODAY.isoformat(),
            "school_type": "GY", "school_unit": "unit-1"}  # fmt: skip
    started = time.monotonic()
    found["dropout"] = accepted = reporter.post("/v1/school-notifications", json=left)
    assert accepted.status_code == 202, accepted.text
    while register.get(f"/v1/youths/{accepted.json()['youth_id']}").status_code != 200:
        assert time.monotonic() - started < 5, "the dropout did not reach the register"
        time.sleep(0.02)
    found["latency"] = latency = time.monotonic() - started
    print(f"dropout reported -> visible in the register: {latency:.3f} s")
    found["known_after"] = register.get("/v1/summary").json()["known"]


def report_an_absence(deployment: Deployment, pnr: dict[str, str], found: Identified) -> None:
    absence = {"personnummer": pnr["in_gy"], "kind": "absence", "on": TODAY.isoformat(),
               "school_type": "GY", "school_unit": "unit-1"}  # fmt: skip
    found["absence"] = found["reporter"].post("/v1/school-notifications", json=absence)
    asyncio.run(deployment.drained())
    found["kinds"] = [e["event_type"] for e in identify_events(deployment)]


@pytest.fixture(scope="class")
def identified(infra: RunningInfra) -> Iterator[Identified]:
    with running(infra) as deployment:
        found: Identified = {"deployment": deployment, "people": people()}
        pnr = {name: p for name, (p, _) in found["people"].items()}
        found["reporter"] = deployment.client("identify", "0180", "school-reporter")
        found["register"] = deployment.client("register", "0180", "caseworker")
        try:
            for step in (publish_the_feeds, report_the_dropout, report_an_absence):
                step(deployment, pnr, found)
            yield found
        finally:
            found["reporter"].close()
            found["register"].close()


def explain(found: Identified, who: str) -> subprocess.CompletedProcess[str]:
    """An inspector's question: why was this youth in scope on 2026-03-02, or not?"""
    [pnr, _] = found["people"][who]
    return subprocess.run(
        [sys.executable, "-m", "kaa", "scope", "explain", "--tenant", "0180", "--at", "2026-03-02",
         "--personnummer", pnr],
        env=found["deployment"].env(dict(os.environ)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


class TestFeedsAndNotificationsProduceExactlyTheExpectedScopeEvents:
    def test_only_the_three_youths_out_of_school_are_identified(
        self, identified: Identified
    ) -> None:
        events = identified["events"]
        assert [e["event_type"] for e in events] == ["YouthIdentified"] * 3
        assert all(e["rule_version"] == "kaa-2018-07-01" for e in events)
        assert {e["facts"]["age"] for e in events} == {"17", "18"}

    def test_a_bad_school_record_is_a_dead_letter_with_its_reason(
        self, identified: Identified
    ) -> None:
        reasons = sorted(h["kaa.dlq.reason"].decode() for _, h in identified["dlq"])
        assert reasons == [
            "person.enrolments.0.schoolType: unknown school type (not in SS 12000 Code_SchoolType)",
            "person.enrolments.0: endDate is before startDate",
        ]

    def test_a_reported_dropout_is_in_the_register_within_two_seconds(
        self, identified: Identified
    ) -> None:
        assert identified["latency"] < 2.0, (
            f"dropout to register took {identified['latency']:.2f} s"
        )
        assert identified["known_after"] == identified["known_before"] + 1

    def test_notifications_are_recorded_and_end_no_scope(self, identified: Identified) -> None:
        assert identified["absence"].status_code == 202
        kinds = identified["kinds"]
        assert kinds.count("YouthIdentified") == 4
        assert kinds.count("SchoolNotificationReceived") == 2
        assert kinds.count("AbsenceReported") == 1
        assert "YouthLeftScope" not in kinds

    def test_a_notification_for_another_hemkommun_is_forbidden(
        self, identified: Identified
    ) -> None:
        [dropout, _] = identified["people"]["dropout"]
        other = identified["reporter"].post("/v1/school-notifications", json={
            "personnummer": dropout, "kind": "left", "on": TODAY.isoformat(),
            "school_type": "GY", "school_unit": "u", "hemkommun": "1480",
        })  # fmt: skip
        assert other.status_code == 403
        assert "hemkommun" in other.json()["detail"]

    def test_a_bad_notification_names_its_fields_not_the_number(
        self, identified: Identified
    ) -> None:
        bad = identified["reporter"].post("/v1/school-notifications", json={
            "personnummer": "200801011231", "kind": "left", "on": TODAY.isoformat(),
            "school_type": "XX", "school_unit": "u",
        })  # fmt: skip
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {
            "body.personnummer",
            "body.school_type",
        }
        assert "200801011231" not in bad.text

    def test_only_a_school_reporter_sends_notifications(self, identified: Identified) -> None:
        with identified["deployment"].client("identify", "0180", "caseworker") as caseworker:
            assert caseworker.post("/v1/school-notifications", json={}).status_code == 403

    def test_an_inspector_is_told_why_a_youth_was_in_scope(self, identified: Identified) -> None:
        explained = explain(identified, "out_of_school")
        assert explained.returncode == 0, explained.stderr
        assert "0180 2026-03-02: IN SCOPE" in explained.stdout
        assert "rule version: kaa-2018-07-01" in explained.stdout
        assert "compulsory_school_ends: 2024-06-30" in explained.stdout
        [pnr, _] = identified["people"]["out_of_school"]
        assert pnr not in explained.stdout + explained.stderr

    def test_an_inspector_is_told_why_an_enrolled_youth_was_not(
        self, identified: Identified
    ) -> None:
        assert "not in scope (reason: enrolled)" in explain(identified, "in_gy").stdout


def test_a_school_notification_counts_only_for_the_municipality_it_was_sent_to(
    infra: RunningInfra,
) -> None:
    """Issue 13 sections 3 and 5: a reporter of 0180 reports a student folkbokförd in 1480
    (without `hemkommun`): accepted as a notification to 0180, and 1480's register does not change.
    The school notifies the hemkommun, 1480, with a token for it: then the youth is in 1480's scope,
    and the event names the reporter, the school unit and its huvudman. The id the 0180 reporter
    used is refused (409) for the 1480 reporter instead of a 500."""
    with running(infra, tenants=("0180", "1480")) as deployment:
        pnr = number(date(2008, 2, 3))
        asyncio.run(
            deployment.publish_feed(
                "ss12000", [school(pnr, [enrolment("GY")]).replace(b'"0180"', b'"1480"')]
            )
        )
        asyncio.run(deployment.drained())
        line = population(pnr, date(2008, 2, 3)).replace(b'"0180"', b'"1480"')
        asyncio.run(deployment.publish_feed("population", [line]))
        asyncio.run(deployment.drained())
        left = {"personnummer": pnr, "kind": "left", "on": TODAY.isoformat(),
                "school_type": "GY", "school_unit": "unit-7",
                "reporting_organisation": "2120000142"}  # fmt: skip
        taken = str(uuid.uuid4())
        with (
            deployment.client("identify", "0180", "school-reporter") as stockholm,
            deployment.client("identify", "1480", "school-reporter") as goteborg,
            deployment.client("register", "1480", "caseworker") as register,
        ):
            sent = stockholm.post(
                "/v1/school-notifications", json={**left, "notification_id": taken}
            )
            assert sent.status_code == 202, sent.text
            again = stockholm.post(
                "/v1/school-notifications", json={**left, "notification_id": taken}
            )
            assert again.status_code == 202, "the same notification again: a repeat"
            assert again.json()["youth_id"] == sent.json()["youth_id"]
            assert (sent.json()["repeat"], again.json()["repeat"]) == (False, True)
            asyncio.run(deployment.drained())
            assert register.get("/v1/youths").json()["items"] == [], "1480 is not changed by 0180"
            events = identify_events(deployment)
            assert [e["event_type"] for e in events] == ["SchoolNotificationReceived"]
            [noted] = events
            assert (noted["tenant"], noted["school_unit"], noted["reporting_organisation"]) == (
                "0180", "unit-7", "2120000142",
            )  # fmt: skip
            assert noted["actor"] == "user:test"
            assert noted["received_on"] == TODAY.isoformat()

            reused = goteborg.post(
                "/v1/school-notifications", json={**left, "notification_id": taken}
            )
            assert reused.status_code == 409, reused.text
            assert reused.json()["errors"] == [{
                "field": "body.notification_id",
                "problem": "already used for a different notification; choose a new id",
            }]  # fmt: skip
            home = goteborg.post("/v1/school-notifications", json=left)
            assert home.status_code == 202, home.text
            asyncio.run(deployment.drained())
            [row] = register.get("/v1/youths").json()["items"]
            assert row["youth_id"] == home.json()["youth_id"]
            [identified] = [e for e in identify_events(deployment)
                            if e["event_type"] == "YouthIdentified"]  # fmt: skip
            assert (identified["tenant"], identified["entered_on"]) == ("1480", TODAY.isoformat())
            assert identified["identified_on"] == TODAY.isoformat()
