"""The SS 12000 connector against an SS 12000 server that follows Skolverket's openapi.yml (every
answer validated), real Kafka and real PostgreSQL: first sync across pages, a delta, a deletion,
a malformed page, failures named for the operator, and the subscription made and renewed."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from services.connect.adapters.publisher import FeedPublisher
from services.connect.adapters.ss12000 import Ss12000Client, Ss12000Error
from services.connect.adapters.state import ConnectState
from services.connect.commands.sync import CALLBACK_PATH, OrganiserSync
from shared.connectors import Organiser
from shared.crypto import TenantKeys
from shared.personnummer import generate
from tests.conftest import RunningInfra, Topics
from tests.support.ss12000 import Ss12000Server

DAY_AGO = datetime.now(UTC) - timedelta(days=1)
UNIT = str(uuid.uuid4())


@pytest.fixture
def server() -> Iterator[Ss12000Server]:
    with Ss12000Server(subscription_ttl=timedelta(hours=2)) as running:
        yield running
    assert running.invalid == [], "every answer the server gave follows openapi.yml"


@dataclass
class Stack:
    sync: OrganiserSync
    state: ConnectState
    topic: str
    bootstrap: str

    async def records(self) -> list[dict[str, Any]]:
        from shared.messaging import read_topics

        return [orjson.loads(r.value) for r in await read_topics(self.bootstrap, [self.topic])]


@pytest.fixture
async def stack(infra: RunningInfra, topics: Topics, server: Ss12000Server) -> AsyncIterator[Stack]:
    topic = await topics.create("ss12000", partitions=2)
    organiser = Organiser(
        id=f"t{uuid.uuid4().hex[:12]}", name="Testskolan AB", base_url=server.base_url,
        token_url=server.token_url, client_id="kaa", page_size=2, school_types=["GY", "GYS"],
    )  # fmt: skip
    keys = TenantKeys(secrets.token_urlsafe(32))
    pseudonym = secrets.token_urlsafe(16)  # the test's own subjects in the shared keyring
    pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=2)
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers, enable_idempotence=True)
    await producer.start()
    async with httpx.AsyncClient() as http:
        state = ConnectState(pool, keys, pseudonym)
        await state.ensure([("0180", organiser.id, organiser.source, organiser.name)])
        publisher = FeedPublisher(producer, pool, keys, pseudonym, topic)
        client = Ss12000Client(organiser, "s3cret", http)
        yield Stack(OrganiserSync("0180", organiser, client, state, publisher), state, topic,
                    infra.bootstrap_servers)  # fmt: skip
    await state.forget_organiser("0180", organiser.id)
    await producer.stop()
    await pool.close()


def student(server: Ss12000Server, *, school_type: str = "GY", **enrolment: Any) -> dict[str, Any]:
    number = generate(date(2009, 4, 1), __import__("random").Random(uuid.uuid4().int))
    return server.person(
        number, given="Test", family="Elev",
        enrolments=[server.enrolment(UNIT, school_type, start=date(2025, 8, 18), **enrolment)],
    )  # fmt: skip


def persons_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("feed") == "ss12000"]


async def test_first_sync_reads_every_page_then_a_delta_and_a_deletion(
    server: Ss12000Server, stack: Stack
) -> None:
    students = [student(server) for _ in range(5)]
    server.put_persons(students, modified=DAY_AGO)
    server.put_person(student(server, school_type="GR"), modified=DAY_AGO)  # not read: GR only
    first = await stack.sync.sync()
    assert (first.first, first.pages, first.published, first.skipped) == (True, 3, 5, 1)
    records = await stack.records()
    sent = persons_of(records)
    assert len(sent) == 5
    assert all("sealed" in r and "person" not in r for r in sent), "the person is sealed"
    assert {(r["live"], r["tenant"]) for r in sent} == {(False, "0180")}
    assert all("source" not in r for r in sent), "which organiser is sealed with the person"
    marks = [r for r in records if r.get("feed") == "watermark"]
    assert len(marks) == 2, "the watermark on every partition"
    assert all(datetime.fromisoformat(m["complete_up_to"]) == first.complete_up_to for m in marks)
    status = await stack.state.status("0180", stack.sync.organiser.id)
    assert status.last_complete_sync == first.complete_up_to
    assert (status.pages_read, status.persons_read) == (3, 5)

    changed = {**students[0], "enrolments": [server.enrolment(UNIT, "GY", start=date(2025, 8, 18),
                                                              end=date(2026, 11, 27))]}  # fmt: skip
    server.put_person(changed)
    server.delete_person(students[1]["id"])
    delta = await stack.sync.sync()
    assert (delta.first, delta.published, delta.deleted) == (False, 1, 1)
    sent = persons_of(await stack.records())
    assert len(sent) == 7
    live = sorted((r for r in sent if r["live"]), key=lambda r: r["observed_at"])
    assert len(live) == 2, "a delta's records are decided at once"
    assert live[0]["observed_at"] < live[1]["observed_at"], "the deletion is read after the page"
    modified_after = [
        q for m, p, q in server.requests if p == "/persons" and "meta.modified.after" in q
    ]
    assert len(modified_after) == 1, "the delta asked for what changed since the last sync"
    assert any(p == "/deletedEntities" for _, p, _ in server.requests)


async def test_a_malformed_page_passes_its_good_persons_and_its_bad_items_on_for_identify(
    server: Ss12000Server, stack: Stack
) -> None:
    server.put_persons([student(server) for _ in range(2)], modified=DAY_AGO)
    server.malform_next_page([{"id": "no-civic-number"}, 42])
    result = await stack.sync.sync()
    assert result.published == 4, "two persons and the two bad items (identify dead-letters them)"
    server.garble_next_page()
    with pytest.raises(Ss12000Error, match="Testskolan AB: a page of /persons is not JSON"):
        await stack.sync.sync()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (403, "Testskolan AB: the organiser denied access (HTTP 403): check that kaa's client"),
        (503, "Testskolan AB: the organiser's system failed (HTTP 503)"),
        (429, "Testskolan AB: too many requests (HTTP 429)"),
    ],
)
async def test_a_failing_organiser_is_named_with_what_to_check(
    server: Ss12000Server, stack: Stack, status: int, said: str
) -> None:
    server.put_person(student(server), modified=DAY_AGO)
    server.fail(status, retry_after=7 if status == 429 else None)
    with pytest.raises(Ss12000Error) as failed:
        await stack.sync.sync()
    assert str(failed.value).startswith(said)
    assert failed.value.retry_after == (7 if status == 429 else None)
    await stack.sync.failed(failed.value, 3.0)
    recorded = await stack.state.status("0180", stack.sync.organiser.id)
    assert (recorded.last_error, recorded.errors_in_a_row) == (str(failed.value), 1)
    assert recorded.last_complete_sync is None, "no watermark after a failed sync"
    assert (await stack.sync.sync()).published == 1, "the next attempt syncs"
    assert (await stack.state.status("0180", stack.sync.organiser.id)).errors_in_a_row == 0


async def test_wrong_credentials_are_named_and_the_secret_never_is(
    server: Ss12000Server, stack: Stack
) -> None:
    stack.sync.client.secret = "wrong-secret-value"
    with pytest.raises(Ss12000Error) as failed:
        await stack.sync.sync()
    message = str(failed.value)
    assert failed.value.status == 401
    assert "refused kaa's credentials" in message
    assert "KAA_SS12000_SECRET_" in message
    assert "wrong-secret-value" not in message


async def test_the_subscription_is_made_renewed_at_half_time_and_made_again_when_gone(
    server: Ss12000Server, stack: Stack
) -> None:
    public = "https://kaa.example.se/connect"
    assert await stack.sync.keep_subscription(None) is None, "no public address: polling only"
    renew_at = await stack.sync.keep_subscription(public)
    [(sid, made)] = server.subscriptions.items()
    assert made["target"].startswith(public + CALLBACK_PATH)
    assert made["resourceTypes"] == [{"resource": "Person"}]
    assert renew_at is not None
    assert timedelta(minutes=55) < renew_at - datetime.now(UTC) < timedelta(minutes=65)
    assert await stack.sync.keep_subscription(public) == renew_at, "not yet due: nothing asked"

    stack.sync.clock = lambda: datetime.now(UTC) + timedelta(minutes=61)
    await stack.sync.keep_subscription(public)
    assert [m for m, p, _ in server.requests if p == f"/subscriptions/{sid}"] == ["PATCH"]
    status = await stack.state.status("0180", stack.sync.organiser.id)
    assert status.subscription_id == sid

    await stack.sync.client._call("DELETE", f"/subscriptions/{sid}")  # the organiser forgot it
    stack.sync.clock = lambda: datetime.now(UTC) + timedelta(minutes=100)
    await stack.sync.keep_subscription(public)
    assert [m for m, p, _ in server.requests if p == f"/subscriptions/{sid}"][-1] == "PATCH"
    [new_sid] = set(server.subscriptions) - {sid}
    again = await stack.state.status("0180", stack.sync.organiser.id)
    assert again.subscription_id == new_sid


async def test_a_daily_full_sync_passes_on_whom_the_organiser_dropped_without_saying(
    server: Ss12000Server, stack: Stack
) -> None:
    kept, dropped = student(server), student(server)
    server.put_persons([kept, dropped], modified=DAY_AGO)
    await stack.sync.sync()
    server.delete_person(dropped["id"], at=DAY_AGO)  # gone, and too long ago for a delta to ask
    assert (await stack.sync.sync()).deleted == 0, "a delta sees no deletion"
    await stack.state.update("0180", stack.sync.organiser.id,
                             last_full_sync=datetime.now(UTC) - timedelta(days=1, minutes=1))  # fmt: skip
    full = await stack.sync.sync()
    assert (full.deleted, full.published) == (1, 1), "every person again, the dropped one deleted"
    last = [q for _, p, q in server.requests if p == "/persons"][-1]
    assert "meta.modified.after" not in last, "the full sync asked for every person"
    status = await stack.state.status("0180", stack.sync.organiser.id)
    assert status.last_full_sync == full.complete_up_to
    assert await stack.state.unlisted("0180", stack.sync.organiser.id, {kept["id"]}) == []
