"""Casework that arrives before its youth is parked, not judged (issue 14, section 2).

The register reads the identify, outreach and measures topics concurrently, so a contact attempt
or a measure can legitimately arrive before the `YouthIdentified` it follows. It waits for the
youth and is applied, in its order, when the youth is identified; it becomes a dead event only
when the youth never arrives within KAA_EARLY_EVENT_WAIT.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from kaa.deployment import Deployment
from services.register.adapters.projection.parking import EARLY
from shared.contracts.envelope import IntegrationEvent
from shared.contracts.events import (
    ContactAttempted,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureOffered,
    OccupationRecorded,
    PlanMapping,
    YouthIdentified,
)
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, kaa, running, sql

TENANT = "0180"


def envelope(youth: uuid.UUID, actor: str = "user:anna") -> dict[str, Any]:
    when = datetime(2026, 2, 2, 9, tzinfo=UTC)
    return {
        "event_id": uuid.uuid4(), "tenant": TENANT, "youth_id": youth, "occurred_at": when,
        "recorded_at": when, "actor": actor, "correlation_id": uuid.uuid4(),
    }  # fmt: skip


def casework(youth: uuid.UUID) -> list[IntegrationEvent]:
    measure = uuid.uuid4()
    return [
        ContactAttempted(
            **envelope(youth), contact_attempt_id=uuid.uuid4(), channel="phone",
            outcome="reached", attempted_at=datetime(2026, 2, 2, 10, tzinfo=UTC),
        ),
        OccupationRecorded(
            **envelope(youth), occupation_id=uuid.uuid4(), category="work",
            code_list_version="2015.1", tense="current", from_date=date(2026, 1, 1),
            confirmed_on=date(2026, 2, 2),
        ),
        MeasureOffered(
            **envelope(youth), measure_id=measure, measure_type="study_guidance",
            offered_on=date(2026, 2, 3),
        ),
        MeasureAccepted(**envelope(youth), measure_id=measure, accepted_on=date(2026, 2, 4)),
        IndividualPlanRevised(
            **envelope(youth), revision=1, valid_from=date(2026, 2, 3), goal="Komvux",
            mapping=PlanMapping(), efforts=[],
        ),
    ]  # fmt: skip


def identified(youth: uuid.UUID) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth, "system:identify"), scope_episode_id=uuid.uuid4(),
        entered_on=date(2026, 1, 20), scope_ends_on=date(2028, 3, 14),
        rule_version="kaa-2018-07-01", facts={"age": "17"},
    )  # fmt: skip


def publish(deployment: Deployment, events: list[IntegrationEvent]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=deployment.bootstrap_servers)
        await producer.start()
        try:
            for event in events:
                topic = f"{deployment.namespace}{event.topic}"
                await producer.send_and_wait(topic, value=event.to_bytes(), key=event.key())
        finally:
            await producer.stop()

    asyncio.run(send())
    asyncio.run(deployment.drained())


@pytest.fixture
def register_only(infra: RunningInfra, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The register alone, waiting long enough for a youth that does arrive even on a loaded
    machine (the default bound is a day)."""
    monkeypatch.setenv("KAA_EARLY_EVENT_WAIT", "120")
    with running(infra, tenants=(TENANT,), today=TODAY, services=["register"]) as made:
        yield made


@pytest.fixture
def register_impatient(
    infra: RunningInfra, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    """The register alone with a bound short enough for a test to see it pass."""
    monkeypatch.setenv("KAA_EARLY_EVENT_WAIT", "3")  # seconds
    with running(infra, tenants=(TENANT,), today=TODAY, services=["register"]) as made:
        yield made


def test_casework_before_its_youth_waits_and_applies_in_order_when_the_youth_arrives(
    register_only: Deployment,
) -> None:
    deployment = register_only
    youth = uuid.uuid4()
    early = casework(youth)
    publish(deployment, early)
    with deployment.client("register", TENANT, "caseworker") as caseworker:
        assert caseworker.get(f"/v1/youths/{youth}").status_code == 404, "nothing applied ahead"
        waiting = caseworker.get("/v1/dead-events").json()["items"]
        assert sorted(d["event_id"] for d in waiting) == sorted(str(e.event_id) for e in early)
        assert {d["reason"] for d in waiting} == {EARLY}
        assert caseworker.get("/health").json()["status"] == "ok", "waiting is the normal course"

        publish(deployment, [identified(youth)])
        row = caseworker.get(f"/v1/youths/{youth}").json()
        assert row["status"] == "in_scope"
        assert len(row["contacts"]) == 1
        assert [o["category"] for o in row["occupations"]] == ["work"]
        assert [(m["state"], m["accepted_on"]) for m in row["measure_status"]] == [
            ("accepted", "2026-02-04")
        ], "the measure's steps applied in their order"
        assert [p["revision"] for p in row["plan_revisions"]] == [1]
        after = caseworker.get("/v1/dead-events").json()["items"]
        assert all(d["reapplied_at"] is not None for d in after)

    # The same content as a register built from the topics afresh, and nothing to report.
    rebuilt = kaa(deployment, "register", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    verified = kaa(deployment, "register", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "could not apply" not in verified.stdout
    assert "wait for their youth" not in verified.stdout
    assert "no scope episode" not in verified.stdout


def test_casework_whose_youth_never_arrives_becomes_a_dead_event(
    register_impatient: Deployment,
) -> None:
    deployment = register_impatient
    stranger = uuid.uuid4()
    [attempt, *_] = casework(stranger)
    publish(deployment, [attempt])
    with deployment.client("register", TENANT, "caseworker") as caseworker:
        deadline = time.monotonic() + 30
        while True:
            [dead] = caseworker.get("/v1/dead-events").json()["items"]
            if dead["discarded_at"] is not None or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert dead["reason"] == "youth never identified within 3 seconds (KAA_EARLY_EVENT_WAIT)"
        assert dead["discarded_by"] == "system:register"
        assert caseworker.get(f"/v1/youths/{stranger}").status_code == 404


def test_waiting_casework_that_fails_when_released_stays_parked_in_order(
    register_only: Deployment,
) -> None:
    """The youth is identified all the same; the contact the store refuses stays parked with its
    reason, the occupation behind it (same topic) waits for it, and a re-apply after the fix
    applies both in order."""
    deployment = register_only
    youth = uuid.uuid4()
    contact, occupation, *_ = casework(youth)
    asyncio.run(
        sql(
            deployment,
            """
            CREATE FUNCTION register.simulated_bug() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'simulated bug in the store'; END $$;
            CREATE TRIGGER simulated_bug BEFORE INSERT ON register.contacts
                FOR EACH ROW EXECUTE FUNCTION register.simulated_bug();
            """,
        )
    )
    publish(deployment, [contact, occupation])
    publish(deployment, [identified(youth)])
    with deployment.client("register", TENANT, "caseworker") as caseworker:
        row = caseworker.get(f"/v1/youths/{youth}").json()
        assert row["status"] == "in_scope", "the identification is not held up"
        assert (row["contacts"], row["occupations"]) == ([], [])
        dead = {d["event_id"]: d for d in caseworker.get("/v1/dead-events").json()["items"]}
        assert "simulated bug in the store" in dead[str(contact.event_id)]["reason"]
        assert dead[str(occupation.event_id)]["reason"].startswith("held:")
        assert caseworker.get("/health").json()["status"] == "degraded"

        asyncio.run(sql(deployment, "DROP TRIGGER simulated_bug ON register.contacts"))
        done = kaa(deployment, "register", "reapply")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "parked events re-applied: 2;" in done.stdout
        row = caseworker.get(f"/v1/youths/{youth}").json()
        assert (len(row["contacts"]), len(row["occupations"])) == (1, 1)
