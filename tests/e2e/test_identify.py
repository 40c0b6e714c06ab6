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
from datetime import date

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


def test_feeds_and_notifications_produce_exactly_the_expected_scope_events(
    deployment: Deployment,
) -> None:
    seventeen, eighteen = date(2008, 9, 14), date(2007, 11, 3)
    out_of_school = number(seventeen)  # identified
    in_gy = number(seventeen)  # enrolled: nothing
    in_im = number(eighteen)  # introduktionsprogram after 2018-07-01: nothing
    too_old = number(date(2005, 12, 1))  # 20: nothing
    studiebevis = number(eighteen)  # identified: a studiebevis does not end scope
    examen = number(eighteen)  # completed: nothing
    samordning = samordningsnummer(seventeen)  # identified
    dropout = number(eighteen)  # enrolled, then the school reports that the student left

    ns, bootstrap = deployment.namespace, deployment.bootstrap_servers
    asyncio.run(
        deployment.publish_feed("ss12000", [
            school(in_gy, [enrolment("GY")]),
            school(in_im, [enrolment("GY", "IMYRK")]),
            school(dropout, [enrolment("GY")]),
            school(out_of_school, [enrolment("XX")]),  # unknown school type: dead letter
            school(studiebevis, [enrolment("GY", startDate="2025-08-20", endDate="2025-06-01")]),  # end before start
        ])
    )  # fmt: skip
    asyncio.run(
        deployment.publish_feed(
            "completions",
            [completion(studiebevis, "studiebevis"), completion(examen, "gymnasieexamen")],
        )
    )
    asyncio.run(deployment.drained())
    people = [(out_of_school, seventeen), (in_gy, seventeen), (in_im, eighteen), (too_old, date(2005, 12, 1)),
              (studiebevis, eighteen), (examen, eighteen), (samordning, seventeen), (dropout, eighteen)]  # fmt: skip
    asyncio.run(deployment.publish_feed("population", [population(p, b) for p, b in people]))
    asyncio.run(deployment.drained())

    events = identify_events(deployment)
    assert [e["event_type"] for e in events] == ["YouthIdentified"] * 3
    assert all(e["rule_version"] == "kaa-2018-07-01" for e in events)
    assert {e["facts"]["age"] for e in events} == {"17", "18"}  # type: ignore[index]

    dlq = asyncio.run(read_all(bootstrap, f"{ns}{SS12000_FEED}.dlq"))
    reasons = sorted(h["kaa.dlq.reason"].decode() for _, h in dlq)
    assert reasons == [
        "person.enrolments.0.schoolType: unknown school type (not in SS 12000 Code_SchoolType)",
        "person.enrolments.0: endDate is before startDate",
    ]

    # The school reports the dropout: the youth reaches the register within a second or so.
    reporter = deployment.client("identify", "0180", "school-reporter")
    register = deployment.client("register", "0180", "caseworker")
    known_before = register.get("/v1/summary").json()["known"]
    started = time.monotonic()
    accepted = reporter.post(
        "/v1/school-notifications",
        json={
            "personnummer": dropout,
            "kind": "left",
            "on": TODAY.isoformat(),
            "school_type": "GY",
            "school_unit": "unit-1",
        },
    )
    assert accepted.status_code == 202, accepted.text
    youth_id = accepted.json()["youth_id"]
    while register.get(f"/v1/youths/{youth_id}").status_code != 200:
        assert time.monotonic() - started < 5, "the dropout did not reach the register"
        time.sleep(0.02)
    latency = time.monotonic() - started
    print(f"dropout reported -> visible in the register: {latency:.3f} s")
    assert latency < 2.0, f"dropout to register took {latency:.2f} s"
    assert register.get("/v1/summary").json()["known"] == known_before + 1

    absence = reporter.post(
        "/v1/school-notifications",
        json={
            "personnummer": in_gy,
            "kind": "absence",
            "on": TODAY.isoformat(),
            "school_type": "GY",
            "school_unit": "unit-1",
        },
    )
    assert absence.status_code == 202
    asyncio.run(deployment.drained())
    kinds = [e["event_type"] for e in identify_events(deployment)]
    assert kinds.count("YouthIdentified") == 4
    assert kinds.count("SchoolNotificationReceived") == 2
    assert kinds.count("AbsenceReported") == 1
    assert "YouthLeftScope" not in kinds

    # Refused with a reason: another municipality, a bad number, an unknown school type, a wrong role.
    other = reporter.post(
        "/v1/school-notifications",
        json={
            "personnummer": dropout,
            "kind": "left",
            "on": TODAY.isoformat(),
            "school_type": "GY",
            "school_unit": "u",
            "hemkommun": "1480",
        },
    )
    assert other.status_code == 403
    assert "hemkommun" in other.json()["detail"]
    bad = reporter.post(
        "/v1/school-notifications",
        json={
            "personnummer": "200801011231",
            "kind": "left",
            "on": TODAY.isoformat(),
            "school_type": "XX",
            "school_unit": "u",
        },
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"body.personnummer", "body.school_type"}
    assert "200801011231" not in bad.text
    caseworker = deployment.client("identify", "0180", "caseworker")
    assert caseworker.post("/v1/school-notifications", json={}).status_code == 403

    # An inspector's question: why was this youth in scope on that day?
    explained = subprocess.run(
        [sys.executable, "-m", "kaa", "scope", "explain", "--tenant", "0180", "--at", "2026-03-02",
         "--personnummer", out_of_school],
        env=deployment.env(dict(os.environ)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert explained.returncode == 0, explained.stderr
    assert "0180 2026-03-02: IN SCOPE" in explained.stdout
    assert "rule version: kaa-2018-07-01" in explained.stdout
    assert "compulsory_school_ends: 2024-06-30" in explained.stdout
    assert out_of_school not in explained.stdout + explained.stderr
    in_gym = subprocess.run(
        [sys.executable, "-m", "kaa", "scope", "explain", "--tenant", "0180", "--at", "2026-03-02",
         "--personnummer", in_gy],
        env=deployment.env(dict(os.environ)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "not in scope (reason: enrolled)" in in_gym.stdout


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
