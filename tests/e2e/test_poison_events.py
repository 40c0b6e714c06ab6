"""No poison event, ever: an event the register cannot store is parked and the line keeps running.

Written to the topic directly, bypassing the services' APIs: an event whose text holds NUL (the
contract refuses it), one the register's store refuses because of a bug (simulated by a trigger an
operator later drops: the fix), and one no fix will take (a revision beyond PostgreSQL's integer),
between good events of the same youth on the same partition.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from kaa.deployment import Deployment
from shared.contracts.events import (
    IndividualPlanRevised,
    PlanMapping,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.topics import IDENTIFY_EVENTS, MEASURES_EVENTS, dead_letter_topic
from shared.messaging import read_topics
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, kaa, running, sql

TENANT = "0180"
BUG = "the goal a bug trips on"


def envelope(youth: uuid.UUID, actor: str = "user:caseworker1") -> dict[str, Any]:
    when = datetime(2026, 2, 1, 9, tzinfo=UTC)
    return {
        "event_id": uuid.uuid4(),
        "tenant": TENANT,
        "youth_id": youth,
        "occurred_at": when,
        "recorded_at": when,
        "actor": actor,
        "correlation_id": uuid.uuid4(),
    }


def plan(youth: uuid.UUID, revision: int, goal: str) -> IndividualPlanRevised:
    return IndividualPlanRevised(
        **envelope(youth),
        revision=revision,
        valid_from=date(2026, 2, 1),
        goal=goal,
        mapping=PlanMapping(),
        efforts=[],
    )


async def produce(deployment: Deployment, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=deployment.bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    try:
        for topic, key, value in messages:
            await producer.send_and_wait(f"{deployment.namespace}{topic}", value=value, key=key)
    finally:
        await producer.stop()


@pytest.fixture
def register_only(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, tenants=(TENANT,), today=TODAY, services=["register"]) as made:
        yield made


def test_the_register_parks_what_it_cannot_store_and_keeps_running(
    register_only: Deployment,
) -> None:
    deployment = register_only
    youth, other = uuid.uuid4(), uuid.uuid4()
    identified = [
        YouthIdentified(
            **envelope(who, "system:identify"), scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 20), scope_ends_on=date(2028, 3, 14),
            rule_version="kaa-2018-07-01", facts={"age": "17"},
        )
        for who in (youth, other)
    ]  # fmt: skip
    first, fixed_later = plan(youth, 1, "Börja på komvux"), plan(youth, 2, BUG)
    last = plan(youth, 3, "Söka sommarjobb")
    beyond = json.loads(plan(other, 4, "ok").to_bytes())
    beyond["revision"] = 2**40  # the contract allows it; PostgreSQL's integer column does not
    beyond_bytes = json.dumps(beyond).encode()
    after_beyond = plan(other, 5, "Praktik")
    nul = json.loads(plan(youth, 9, "ok").to_bytes())
    nul["goal"] = "a\u0000b"
    nul_bytes = json.dumps(nul).encode()
    # A bug in the register's store, for goal BUG only: the fix is dropping it.
    asyncio.run(
        sql(
            deployment,
            """
            CREATE FUNCTION register.simulated_bug() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.goal = 'the goal a bug trips on' THEN
                    RAISE EXCEPTION 'simulated bug in the store';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER simulated_bug BEFORE INSERT ON register.plan_revisions
                FOR EACH ROW EXECUTE FUNCTION register.simulated_bug();
            """,
        )
    )
    key, other_key = str(youth).encode(), str(other).encode()
    # The youths first: casework about a youth not identified yet waits for it (issue 14).
    asyncio.run(
        produce(
            deployment,
            [
                (IDENTIFY_EVENTS, key, identified[0].to_bytes()),
                (IDENTIFY_EVENTS, other_key, identified[1].to_bytes()),
            ],
        )
    )
    asyncio.run(deployment.drained())
    asyncio.run(
        produce(
            deployment,
            [
                (MEASURES_EVENTS, key, first.to_bytes()),
                (MEASURES_EVENTS, key, nul_bytes),
                (MEASURES_EVENTS, key, fixed_later.to_bytes()),
                (MEASURES_EVENTS, key, last.to_bytes()),
                (MEASURES_EVENTS, other_key, beyond_bytes),
                (MEASURES_EVENTS, other_key, after_beyond.to_bytes()),
            ],
        )
    )
    asyncio.run(deployment.drained())
    caseworker = deployment.client("register", TENANT, "caseworker")

    def revisions(who: uuid.UUID) -> list[int]:
        timeline = caseworker.get(f"/v1/youths/{who}").json()
        return sorted(p["revision"] for p in timeline["plan_revisions"])

    try:
        # What could be applied is, once; each youth's events after a parked one wait behind it.
        assert revisions(youth) == [1]
        assert revisions(other) == []

        # Parked with their reasons and bytes, no value echoed: two failed, two held in order.
        dead = caseworker.get("/v1/dead-events").json()["items"]
        parked = {d["event_id"]: d for d in dead if d["parked"]}
        assert set(parked) == {
            str(fixed_later.event_id), str(last.event_id), beyond["event_id"],
            str(after_beyond.event_id),
        }  # fmt: skip
        assert "simulated bug in the store" in parked[str(fixed_later.event_id)]["reason"]
        assert "IndividualPlanRevised could not be applied" in parked[beyond["event_id"]]["reason"]
        assert parked[str(last.event_id)]["reason"].startswith("held: an earlier event")
        assert str(2**40) not in str(dead)
        assert all(d["source"].startswith(deployment.namespace) for d in parked.values())

        # Every message that failed is on the dead-letter topic with its bytes and reason.
        letters = {
            r.value: dict(r.headers or ())
            for r in asyncio.run(
                read_topics(
                    deployment.bootstrap_servers,
                    [dead_letter_topic(f"{deployment.namespace}{MEASURES_EVENTS}")],
                )
            )
        }
        assert set(letters) == {nul_bytes, fixed_later.to_bytes(), beyond_bytes}
        assert letters[nul_bytes]["kaa.dlq.reason"].decode() == (
            "IndividualPlanRevised.goal: holds a NUL character"
        )
        assert letters[beyond_bytes]["kaa.dlq.service"] == b"register"

        # /health says the register is degraded and why.
        health = caseworker.get("/health").json()
        assert health["status"] == "degraded"
        assert "4 events could not be applied and are parked" in " ".join(health["problems"])

        # A restart does not fail and applies nothing twice.
        assert deployment.platform is not None
        deployment.platform.processes["register"].stop()
        deployment.platform.restart("register")
        time.sleep(1.0)
        assert revisions(youth) == [1]

        # The fix, then re-apply: the fixed one and the one behind it apply, in order; the other
        # youth's still fails and the event behind it keeps waiting; twice is once.
        asyncio.run(sql(deployment, "DROP TRIGGER simulated_bug ON register.plan_revisions"))
        again = kaa(deployment, "register", "reapply")
        assert again.returncode == 1, again.stdout + again.stderr
        assert "parked events re-applied: 2;" in again.stdout
        assert "still failing: 1;" in again.stdout
        assert "waiting behind them (same youth, kept in order): 1" in again.stdout
        assert beyond["event_id"] in again.stdout
        once_more = kaa(deployment, "register", "reapply")
        assert "parked events re-applied: 0;" in once_more.stdout, once_more.stdout
        assert revisions(youth) == [1, 2, 3]
        assert revisions(other) == []
        dead = {d["event_id"]: d for d in caseworker.get("/v1/dead-events").json()["items"]}
        assert dead[str(fixed_later.event_id)]["reapplied_at"] is not None
        assert "simulated bug" in dead[str(fixed_later.event_id)]["reason"], "why it was parked"
        assert dead[beyond["event_id"]]["reapplied_at"] is None
        health = caseworker.get("/health").json()
        assert "2 events could not be applied and are parked" in " ".join(health["problems"])

        # No fix will take the too-large revision: an operator gives it up, with a reason; the
        # event behind it then applies.
        refused = kaa(deployment, "register", "discard", "--event-id", beyond["event_id"],
                      "--why", "\x1b[2J")  # fmt: skip
        assert refused.returncode == 2
        assert "--why: holds a control character (U+001B)" in refused.stderr
        unknown = kaa(deployment, "register", "discard", "--event-id", str(uuid.uuid4()),
                      "--why", "gone")  # fmt: skip
        assert unknown.returncode == 1
        given_up = kaa(deployment, "register", "discard", "--event-id", beyond["event_id"],
                       "--why", "revision number beyond any plan; asked measures' owner")  # fmt: skip
        assert given_up.returncode == 0, given_up.stderr
        last_run = kaa(deployment, "register", "reapply")
        assert last_run.returncode == 0, last_run.stdout
        assert (
            "parked events re-applied: 1; applied already: 0; still failing: 0" in last_run.stdout
        )
        assert revisions(other) == [5]
        dead = {d["event_id"]: d for d in caseworker.get("/v1/dead-events").json()["items"]}
        assert dead[beyond["event_id"]]["discarded_by"].startswith("cli:")
        assert caseworker.get("/health").json()["status"] == "ok"
    finally:
        caseworker.close()


@pytest.fixture
def outreach_only(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, tenants=(TENANT,), today=TODAY, services=["outreach"]) as made:
        yield made


def test_an_event_sourced_service_parks_what_it_cannot_apply(outreach_only: Deployment) -> None:
    """The same for outreach (event store and read tables in one transaction): a youth whose
    case the store refuses is parked; the youths before and after it get their cases."""
    deployment = outreach_only
    before, culprit, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    asyncio.run(
        sql(
            deployment,
            f"""
            CREATE FUNCTION outreach.simulated_bug() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.youth_id = '{culprit}' THEN
                    RAISE EXCEPTION 'simulated bug in the read table';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER simulated_bug BEFORE INSERT OR UPDATE ON outreach.cases
                FOR EACH ROW EXECUTE FUNCTION outreach.simulated_bug();
            """,
        )
    )
    events = [
        YouthIdentified(
            **envelope(youth, "system:identify"),
            scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 20),
            scope_ends_on=date(2028, 3, 14),
            rule_version="kaa-2018-07-01",
            facts={"age": "17"},
        )
        for youth in (before, culprit, after)
    ]
    # One key: one partition, one batch, in this order.
    asyncio.run(produce(deployment, [(IDENTIFY_EVENTS, b"one", e.to_bytes()) for e in events]))
    asyncio.run(deployment.drained())
    with deployment.client("outreach", TENANT, "caseworker") as caseworker:
        assert caseworker.get(f"/v1/youths/{before}/case").status_code == 200
        assert caseworker.get(f"/v1/youths/{after}/case").status_code == 200
        assert caseworker.get(f"/v1/youths/{culprit}/case").status_code == 404
        health = caseworker.get("/health").json()
        assert health["status"] == "degraded"
        assert "1 message could not be applied and was parked" in " ".join(health["problems"])
    letters = asyncio.run(
        read_topics(
            deployment.bootstrap_servers,
            [dead_letter_topic(f"{deployment.namespace}{IDENTIFY_EVENTS}")],
        )
    )
    assert [r.value for r in letters] == [events[1].to_bytes()]
    headers = dict(letters[0].headers or ())
    assert headers["kaa.dlq.service"] == b"outreach"
    assert b"simulated bug in the read table" in headers["kaa.dlq.reason"]


def test_a_youths_later_events_wait_behind_a_parked_one_and_reapply_in_order(
    register_only: Deployment,
) -> None:
    """A youth's identification is parked (a bug trips on it); the youth's leaving, read after
    it, is held behind it instead of being refused for an episode the register never saw; after
    the fix both apply in their order and the youth is out of scope."""
    deployment = register_only
    youth, other = uuid.uuid4(), uuid.uuid4()
    asyncio.run(
        sql(
            deployment,
            f"""
            CREATE FUNCTION register.simulated_bug() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.youth_id = '{youth}' THEN
                    RAISE EXCEPTION 'simulated bug in the store';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER simulated_bug BEFORE INSERT ON register.scope_episodes
                FOR EACH ROW EXECUTE FUNCTION register.simulated_bug();
            """,
        )
    )

    def identified(who: uuid.UUID) -> YouthIdentified:
        return YouthIdentified(
            **envelope(who, "system:identify"), scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 20), scope_ends_on=date(2028, 3, 14),
            rule_version="kaa-2018-07-01", facts={"age": "17"},
        )  # fmt: skip

    entered, other_entered = identified(youth), identified(other)
    left = YouthLeftScope(
        **envelope(youth, "system:identify"), scope_episode_id=entered.scope_episode_id,
        left_on=date(2026, 2, 10), reason="moved_out", rule_version="kaa-2018-07-01",
    )  # fmt: skip
    key = b"one-partition"
    asyncio.run(
        produce(
            deployment,
            [(IDENTIFY_EVENTS, key, e.to_bytes()) for e in (entered, other_entered, left)],
        )
    )
    asyncio.run(deployment.drained())
    with deployment.client("register", TENANT, "caseworker") as caseworker:
        assert caseworker.get(f"/v1/youths/{other}").json()["status"] == "in_scope"
        assert caseworker.get(f"/v1/youths/{youth}").status_code == 404
        dead = {d["event_id"]: d for d in caseworker.get("/v1/dead-events").json()["items"]}
        assert dead[str(left.event_id)]["parked"], "held with its bytes, not refused"
        assert dead[str(left.event_id)]["reason"].startswith("held: an earlier event")

        asyncio.run(sql(deployment, "DROP TRIGGER simulated_bug ON register.scope_episodes"))
        done = kaa(deployment, "register", "reapply")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "parked events re-applied: 2;" in done.stdout
        row = caseworker.get(f"/v1/youths/{youth}").json()
        assert row["status"] == "out_of_scope"
        assert row["scope_episodes"][0]["left_reason"] == "moved_out"
        assert caseworker.get("/health").json()["status"] == "ok"
