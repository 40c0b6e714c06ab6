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

import httpx
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


# The register and its operator on one deployment: the fixture writes the poison, restarts the
# register, fixes the bug and discards what no fix takes, keeping what each step answered; the
# tests of TestTheRegisterParksWhatItCannotStoreAndKeepsRunning each check one behaviour.
Parked = dict[str, Any]

# A bug in the register's store, for goal BUG only: the fix is dropping it.
PLAN_BUG = f"""
    CREATE FUNCTION register.simulated_bug() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.goal = '{BUG}' THEN
            RAISE EXCEPTION 'simulated bug in the store';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER simulated_bug BEFORE INSERT ON register.plan_revisions
        FOR EACH ROW EXECUTE FUNCTION register.simulated_bug();
"""


def revisions(caseworker: httpx.Client, who: uuid.UUID) -> list[int]:
    timeline = caseworker.get(f"/v1/youths/{who}").json()
    return sorted(p["revision"] for p in timeline["plan_revisions"])


def dead_events(caseworker: httpx.Client) -> dict[str, Any]:
    return {d["event_id"]: d for d in caseworker.get("/v1/dead-events").json()["items"]}


def poison(youth: uuid.UUID, other: uuid.UUID) -> Parked:
    """Two youths' plans: good revisions around one with NUL, one a bug trips on, and one beyond
    PostgreSQL's integer (the contract allows it; the column does not)."""
    beyond = json.loads(plan(other, 4, "ok").to_bytes())
    beyond["revision"] = 2**40
    nul = json.loads(plan(youth, 9, "ok").to_bytes())
    nul["goal"] = "a\u0000b"
    return {
        "youth": youth, "other": other, "first": plan(youth, 1, "Börja på komvux"),
        "fixed_later": plan(youth, 2, BUG), "last": plan(youth, 3, "Söka sommarjobb"),
        "beyond": beyond, "beyond_bytes": json.dumps(beyond).encode(),
        "after_beyond": plan(other, 5, "Praktik"), "nul_bytes": json.dumps(nul).encode(),
    }  # fmt: skip


def write_the_poison(deployment: Deployment, parked: Parked) -> None:
    """The youths first (casework about a youth not identified yet waits for it, issue 14), then
    their plans, each youth's in order on its partition."""
    asyncio.run(sql(deployment, PLAN_BUG))
    youth, other = parked["youth"], parked["other"]
    key, other_key = str(youth).encode(), str(other).encode()
    identified = [
        YouthIdentified(
            **envelope(who, "system:identify"), scope_episode_id=uuid.uuid4(),
            entered_on=date(2026, 1, 20), scope_ends_on=date(2028, 3, 14),
            rule_version="kaa-2018-07-01", facts={"age": "17"},
        )
        for who in (youth, other)
    ]  # fmt: skip
    asyncio.run(produce(deployment, [(IDENTIFY_EVENTS, key, identified[0].to_bytes()),
                                     (IDENTIFY_EVENTS, other_key, identified[1].to_bytes())]))  # fmt: skip
    asyncio.run(deployment.drained())
    asyncio.run(produce(deployment, [
        (MEASURES_EVENTS, key, parked["first"].to_bytes()),
        (MEASURES_EVENTS, key, parked["nul_bytes"]),
        (MEASURES_EVENTS, key, parked["fixed_later"].to_bytes()),
        (MEASURES_EVENTS, key, parked["last"].to_bytes()),
        (MEASURES_EVENTS, other_key, parked["beyond_bytes"]),
        (MEASURES_EVENTS, other_key, parked["after_beyond"].to_bytes()),
    ]))  # fmt: skip
    asyncio.run(deployment.drained())


def read_what_was_parked(deployment: Deployment, parked: Parked) -> None:
    caseworker = parked["caseworker"]
    parked["applied"] = (
        revisions(caseworker, parked["youth"]),
        revisions(caseworker, parked["other"]),
    )
    parked["dead"] = caseworker.get("/v1/dead-events").json()["items"]
    dead_letters = dead_letter_topic(f"{deployment.namespace}{MEASURES_EVENTS}")
    records = asyncio.run(read_topics(deployment.bootstrap_servers, [dead_letters]))
    parked["letters"] = {r.value: dict(r.headers or ()) for r in records}
    parked["health"] = caseworker.get("/health").json()


def restart_the_register(deployment: Deployment, parked: Parked) -> None:
    assert deployment.platform is not None
    deployment.platform.processes["register"].stop()
    deployment.platform.restart("register")
    time.sleep(1.0)
    parked["applied_after_restart"] = revisions(parked["caseworker"], parked["youth"])


def fix_and_reapply(deployment: Deployment, parked: Parked) -> None:
    """The fix, then re-apply, twice."""
    caseworker = parked["caseworker"]
    asyncio.run(sql(deployment, "DROP TRIGGER simulated_bug ON register.plan_revisions"))
    parked["reapplied"] = kaa(deployment, "register", "reapply")
    parked["reapplied_again"] = kaa(deployment, "register", "reapply")
    parked["applied_after_fix"] = (
        revisions(caseworker, parked["youth"]), revisions(caseworker, parked["other"]),
    )  # fmt: skip
    parked["dead_after_fix"] = dead_events(caseworker)
    parked["health_after_fix"] = caseworker.get("/health").json()


def discard_the_unfixable(deployment: Deployment, parked: Parked) -> None:
    """No fix will take the too-large revision: an operator gives it up, with a reason."""
    beyond = parked["beyond"]["event_id"]
    discard = ("register", "discard", "--event-id")
    parked["discard_control"] = kaa(deployment, *discard, beyond, "--why", "\x1b[2J")
    parked["discard_unknown"] = kaa(deployment, *discard, str(uuid.uuid4()), "--why", "gone")
    why = "revision number beyond any plan; asked measures' owner"
    parked["discarded"] = kaa(deployment, *discard, beyond, "--why", why)
    parked["reapplied_last"] = kaa(deployment, "register", "reapply")
    caseworker = parked["caseworker"]
    parked["applied_after_discard"] = revisions(caseworker, parked["other"])
    parked["dead_after_discard"] = dead_events(caseworker)
    parked["health_after_discard"] = caseworker.get("/health").json()


@pytest.fixture(scope="class")
def parked(infra: RunningInfra) -> Iterator[Parked]:
    with running(infra, tenants=(TENANT,), today=TODAY, services=["register"]) as deployment:
        answers = poison(uuid.uuid4(), uuid.uuid4())
        answers["caseworker"] = deployment.client("register", TENANT, "caseworker")
        answers["namespace"] = deployment.namespace
        try:
            for step in (write_the_poison, read_what_was_parked, restart_the_register,
                         fix_and_reapply, discard_the_unfixable):  # fmt: skip
                step(deployment, answers)
            yield answers
        finally:
            answers["caseworker"].close()


class TestTheRegisterParksWhatItCannotStoreAndKeepsRunning:
    def test_what_can_be_applied_is_and_a_youths_later_events_wait(self, parked: Parked) -> None:
        assert parked["applied"] == ([1], []), "applied once; later events wait behind a parked one"

    def test_the_failed_and_the_held_are_parked_with_their_reasons(self, parked: Parked) -> None:
        held = {d["event_id"]: d for d in parked["dead"] if d["parked"]}
        fixed_later, last = str(parked["fixed_later"].event_id), str(parked["last"].event_id)
        beyond = parked["beyond"]["event_id"]
        assert set(held) == {fixed_later, last, beyond, str(parked["after_beyond"].event_id)}
        assert "simulated bug in the store" in held[fixed_later]["reason"]
        assert "IndividualPlanRevised could not be applied" in held[beyond]["reason"]
        assert held[last]["reason"].startswith("held: an earlier event")

    def test_a_parked_event_names_its_topic_and_echoes_no_value(self, parked: Parked) -> None:
        assert str(2**40) not in str(parked["dead"])
        held = [d for d in parked["dead"] if d["parked"]]
        assert all(d["source"].startswith(parked["namespace"]) for d in held)

    def test_each_failed_message_is_a_dead_letter_with_its_reason(self, parked: Parked) -> None:
        letters, nul, beyond = parked["letters"], parked["nul_bytes"], parked["beyond_bytes"]
        assert set(letters) == {nul, parked["fixed_later"].to_bytes(), beyond}
        assert letters[nul]["kaa.dlq.reason"].decode() == (
            "IndividualPlanRevised.goal: holds a NUL character"
        )
        assert letters[beyond]["kaa.dlq.service"] == b"register"

    def test_health_says_the_register_is_degraded_and_why(self, parked: Parked) -> None:
        assert parked["health"]["status"] == "degraded"
        problems = " ".join(parked["health"]["problems"])
        assert "4 events could not be applied and are parked" in problems

    def test_a_restart_does_not_fail_and_applies_nothing_twice(self, parked: Parked) -> None:
        assert parked["applied_after_restart"] == [1]

    def test_after_the_fix_the_fixed_and_the_held_apply_in_order(self, parked: Parked) -> None:
        again = parked["reapplied"]
        assert again.returncode == 1, again.stdout + again.stderr
        assert "parked events re-applied: 2;" in again.stdout
        assert "still failing: 1;" in again.stdout
        assert "waiting behind them (same youth, kept in order): 1" in again.stdout
        assert parked["beyond"]["event_id"] in again.stdout
        assert parked["applied_after_fix"] == ([1, 2, 3], []), "the other youth's keeps waiting"

    def test_reapplying_twice_is_once(self, parked: Parked) -> None:
        once_more = parked["reapplied_again"]
        assert "parked events re-applied: 0;" in once_more.stdout, once_more.stdout

    def test_a_reapplied_event_keeps_why_it_was_parked(self, parked: Parked) -> None:
        dead, fixed_later = parked["dead_after_fix"], str(parked["fixed_later"].event_id)
        assert dead[fixed_later]["reapplied_at"] is not None
        assert "simulated bug" in dead[fixed_later]["reason"], "why it was parked"
        assert dead[parked["beyond"]["event_id"]]["reapplied_at"] is None
        problems = " ".join(parked["health_after_fix"]["problems"])
        assert "2 events could not be applied and are parked" in problems

    def test_discard_refuses_a_control_character_and_an_unknown_event(self, parked: Parked) -> None:
        refused = parked["discard_control"]
        assert refused.returncode == 2
        assert "--why: holds a control character (U+001B)" in refused.stderr
        assert parked["discard_unknown"].returncode == 1

    def test_a_discarded_event_lets_the_one_behind_it_apply(self, parked: Parked) -> None:
        given_up, last_run = parked["discarded"], parked["reapplied_last"]
        assert given_up.returncode == 0, given_up.stderr
        assert last_run.returncode == 0, last_run.stdout
        summary = "parked events re-applied: 1; applied already: 0; still failing: 0"
        assert summary in last_run.stdout
        assert parked["applied_after_discard"] == [5]
        discarded = parked["dead_after_discard"][parked["beyond"]["event_id"]]
        assert discarded["discarded_by"].startswith("cli:")
        assert parked["health_after_discard"]["status"] == "ok"


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
