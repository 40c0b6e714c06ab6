"""The watched directory on the real PostgreSQL and Kafka: a file dropped in pieces is read once,
whole; the same content dropped again (any name) is skipped and said so; an unreadable file is
quarantined with its reason beside it; the marker rule waits for the marker; a load a crash
interrupted (ledger row `loading`) is loaded again; `kaa feed watch DIR --once` does all this as
an operator runs it."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from kaa.deployment import database_url_for
from services.connect.adapters.deliveries import (
    DeliveryDirectory,
    DeliveryLedger,
    DeliveryPublisher,
)
from services.connect.commands.deliveries import DeliveryWatcher
from services.connect.domain.deliveries import NOT_AN_OBJECT, Outcome, ReadyRule
from services.connect.entrypoints.deliveries import delivery_loop, delivery_status
from shared import personnummer
from shared.contracts.topics import FEED_BY_NAME, all_topic_specs
from shared.feed_adapter import FeedAdapter
from shared.infra.kafka_admin import delete_topics
from shared.settings import ServiceSettings
from tests.conftest import RunningInfra, Topics

MASTER, PSEUDONYM = "feed-watch-test-master-key-0123456789", "feed-watch-pseudonym-key"
RNG = random.Random(18)


@pytest.fixture
async def database(infra: RunningInfra) -> AsyncIterator[str]:
    """A database of its own: the ledger lives in the fixed schema `connect`."""
    name = f"feed_watch_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_for(infra.database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def population(count: int) -> list[bytes]:
    return [json.dumps({
        "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
        "tenant": "0180", "observed_at": "2026-03-01T08:00:00Z",
        "record": {"personnummer": (number := personnummer.generate(date(2008, 5, 5), RNG)),
                   "given_name": "Zebulonia", "family_name": "Qvist", "kommunkod": "0180",
                   "birth_date": personnummer.birth_date(number).isoformat(),
                   "change_type": "baseline", "effective_date": "2026-03-01"},
    }).encode() for _ in range(count)]  # fmt: skip


def record_ids(lines: list[bytes]) -> list[str]:
    return sorted(json.loads(line)["record_id"] for line in lines)


@dataclass
class Topic:
    """What a topic holds: the records' ids (each as often as it was published), watermarks."""

    records: list[str]
    watermarks: list[dict[str, object]]
    raw: int  # lines that are not JSON (published as they are, for identify to dead-letter)


async def read(bootstrap: str, topic: str) -> Topic:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )  # fmt: skip
    await consumer.start()
    values: list[dict[str, object]] = []
    raw = 0
    try:
        while batch := await consumer.getmany(timeout_ms=3000):
            for record in (r for rs in batch.values() for r in rs):
                try:
                    values.append(json.loads(record.value))
                except ValueError:
                    raw += 1
    finally:
        await consumer.stop()
    return Topic(
        sorted(str(v["record_id"]) for v in values if "record_id" in v),
        [v for v in values if "complete_up_to" in v],
        raw,
    )


async def make_watcher(
    infra: RunningInfra, database: str, topic: str, path: Path, rule: ReadyRule = ReadyRule.rename
) -> DeliveryWatcher:
    adapter = FeedAdapter(infra.bootstrap_servers, database, MASTER, PSEUDONYM)
    return DeliveryWatcher(
        DeliveryDirectory(path), DeliveryLedger(database),
        DeliveryPublisher(adapter, topic, "population"), "population", rule,
    )  # fmt: skip


async def test_a_file_dropped_in_pieces_is_read_once_whole_and_again_is_skipped(
    infra: RunningInfra, topics: Topics, database: str, tmp_path: Path
) -> None:
    topic = await topics.create("population", partitions=2)
    watcher = await make_watcher(infra, database, topic, tmp_path)
    lines = population(30)
    part = tmp_path / "navet-0301.jsonl.part"
    for piece in (lines[:10], lines[10:25], lines[25:]):
        with part.open("ab") as handle:  # a writer that writes in several goes
            handle.write(b"\n".join(piece) + b"\n")
        assert await watcher.scan() == [], "a half-written file is never read"
    part.rename(tmp_path / "navet-0301.jsonl")
    [loaded] = await watcher.scan()
    assert (loaded.outcome, loaded.records, loaded.moved_to) == (
        Outcome.loaded,
        30,
        "navet-0301.jsonl",
    )
    assert await watcher.scan() == []
    on_topic = await read(infra.bootstrap_servers, topic)
    assert on_topic.records == record_ids(lines), "every record once"
    assert len(on_topic.watermarks) == 2  # the population watermark, on each partition
    assert {w["source"] for w in on_topic.watermarks} == {"population"}

    # The same content again, under another name and under the same one: skipped, said so.
    content = (tmp_path / "done" / "navet-0301.jsonl").read_bytes()
    (tmp_path / "navet-0301-resent.jsonl").write_bytes(content)
    (tmp_path / "navet-0301.jsonl").write_bytes(content)
    taken = await watcher.scan()
    assert [t.outcome for t in taken] == [Outcome.skipped, Outcome.skipped]
    assert "skipped: the same content was loaded on " in taken[0].line()
    assert taken[0].line().endswith(" as navet-0301.jsonl")
    assert sorted(os.listdir(tmp_path / "done")) == [
        "navet-0301-resent.jsonl", "navet-0301.1.jsonl", "navet-0301.jsonl",
    ], "nothing in done/ is overwritten"  # fmt: skip
    assert (await read(infra.bootstrap_servers, topic)).records == record_ids(lines)
    assert watcher.status.snapshot()["loaded"] == 1
    assert watcher.status.snapshot()["skipped"] == 2


async def test_an_unreadable_file_is_quarantined_with_its_reason_and_the_others_go_on(
    infra: RunningInfra, topics: Topics, database: str, tmp_path: Path
) -> None:
    topic = await topics.create("population", partitions=1)
    watcher = await make_watcher(infra, database, topic, tmp_path)
    good = population(3)
    latin1 = good[0] + b"\n" + b'{"given_name": "\xc5sa"}\n'  # line 2 in Latin-1
    (tmp_path / "a-latin1.jsonl").write_bytes(latin1)
    (tmp_path / "b-csv.jsonl").write_bytes(b"personnummer;namn\n200805051234;Zebulonia\n")
    (tmp_path / "c-good.jsonl").write_bytes(b"\n".join([*good, b"not json at all"]) + b"\n")
    taken = await watcher.scan()
    assert [(t.name, t.outcome) for t in taken] == [
        ("a-latin1.jsonl", Outcome.quarantined), ("b-csv.jsonl", Outcome.quarantined),
        ("c-good.jsonl", Outcome.loaded),
    ]  # fmt: skip
    quarantine = tmp_path / "quarantine"
    assert (quarantine / "a-latin1.jsonl").read_bytes() == latin1, "its bytes as they were"
    assert (quarantine / "a-latin1.jsonl.reason.txt").read_text() == "line 2 is not UTF-8\n"
    assert (quarantine / "b-csv.jsonl.reason.txt").read_text() == f"{NOT_AN_OBJECT}\n"
    # A single bad line of a readable file is published for identify to dead-letter.
    assert taken[2].records == 4
    on_topic = await read(infra.bootstrap_servers, topic)
    assert (on_topic.records, on_topic.raw) == (record_ids(good), 1)
    assert watcher.status.snapshot()["last_quarantine_reason"] == NOT_AN_OBJECT
    assert sorted(os.listdir(tmp_path)) == ["done", "quarantine"]


async def test_the_marker_rule_waits_for_the_marker_and_removes_it(
    infra: RunningInfra, topics: Topics, database: str, tmp_path: Path
) -> None:
    topic = await topics.create("population", partitions=1)
    watcher = await make_watcher(infra, database, topic, tmp_path, ReadyRule.marker)
    lines = population(5)
    delivery = tmp_path / "navet.jsonl"
    delivery.write_bytes(b"\n".join(lines[:2]) + b"\n")
    assert await watcher.scan() == [], "no marker yet"
    with delivery.open("ab") as handle:
        handle.write(b"\n".join(lines[2:]) + b"\n")
    (tmp_path / "navet.jsonl.ready").touch()
    [loaded] = await watcher.scan()
    assert (loaded.outcome, loaded.records) == (Outcome.loaded, 5)
    assert sorted(os.listdir(tmp_path)) == ["done"]
    assert os.listdir(tmp_path / "done") == ["navet.jsonl"]
    assert (await read(infra.bootstrap_servers, topic)).records == record_ids(lines)


class CrashAfterPublishing(DeliveryPublisher):
    async def publish(self, path: Path) -> int:
        await super().publish(path)
        raise SystemExit("the process died before the ledger said loaded")


async def test_a_load_a_crash_interrupted_is_loaded_again(
    infra: RunningInfra, topics: Topics, database: str, tmp_path: Path
) -> None:
    topic = await topics.create("population", partitions=1)
    adapter = FeedAdapter(infra.bootstrap_servers, database, MASTER, PSEUDONYM)
    crashing = DeliveryWatcher(
        DeliveryDirectory(tmp_path), DeliveryLedger(database),
        CrashAfterPublishing(adapter, topic, "population"), "population",
    )  # fmt: skip
    lines = population(4)
    (tmp_path / "navet.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(SystemExit):
        await crashing.scan()
    conn = await asyncpg.connect(database)
    try:
        states = "SELECT state, records FROM connect.delivery_files"
        assert [tuple(r) for r in await conn.fetch(states)] == [("loading", None)]
        assert (tmp_path / "navet.jsonl").exists(), "the file stays for the next start"
        [again] = await (await make_watcher(infra, database, topic, tmp_path)).scan()
        assert (again.outcome, again.records, again.reloaded) == (Outcome.loaded, 4, True)
        assert [tuple(r) for r in await conn.fetch(states)] == [("loaded", 4)]
    finally:
        await conn.close()
    # Published twice: identify ignores the records it has seen (the same record ids).
    assert (await read(infra.bootstrap_servers, topic)).records == sorted(record_ids(lines) * 2)


def test_kaa_feed_watch_once_loads_quarantines_and_exits_1(
    infra: RunningInfra, database: str, tmp_path: Path
) -> None:
    namespace = f"watch{uuid.uuid4().hex[:8]}"
    incoming, home = tmp_path / "incoming", tmp_path / "home"
    incoming.mkdir()
    lines = population(6)
    (incoming / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (incoming / "b.jsonl").write_bytes(b"\xff\xfe\x00binary\n")
    (incoming / "c.jsonl.part").write_bytes(lines[0])
    env = {**os.environ, "DATABASE_URL": database, "KAFKA_BOOTSTRAP_SERVERS":
           infra.bootstrap_servers, "KAA_NAMESPACE": namespace, "KAA_TENANTS": "0180",
           "KAA_MASTER_KEY": MASTER, "KAA_TOKEN_SECRET": "t" * 40, "KAA_PSEUDONYM_KEY": "p" * 40,
           "KAA_HOME": str(home)}  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kaa", "feed", "watch", str(incoming), "--once"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert done.stdout.splitlines() == [
            "a.jsonl: loaded 6 records", "b.jsonl: quarantined: line 1 is not UTF-8",
        ]  # fmt: skip
        assert sorted(os.listdir(incoming)) == ["c.jsonl.part", "done", "quarantine"]
        topic = f"{namespace}.{FEED_BY_NAME['population']}"
        on_topic = asyncio.run(read(infra.bootstrap_servers, topic))
        assert on_topic.records == record_ids(lines)
    finally:
        specs = all_topic_specs(prefix=f"{namespace}.")
        asyncio.run(delete_topics(infra.bootstrap_servers, [s.name for s in specs]))


async def wait_for(path: Path, seconds: float = 30.0) -> None:
    for _ in range(int(seconds * 10)):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path.name} did not appear")


async def test_the_connect_service_loop_watches_the_population_dir_and_shows_its_status(
    infra: RunningInfra, topics: Topics, database: str, tmp_path: Path
) -> None:
    topic = await topics.create(FEED_BY_NAME["population"], partitions=1)
    settings = ServiceSettings(
        kafka_bootstrap_servers=infra.bootstrap_servers, database_url=database,
        master_key=MASTER, pseudonym_key=PSEUDONYM, token_secret="t" * 32,
        namespace=topics.prefix, population_dir=tmp_path,
    )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.ensure_future(delivery_loop(settings, interval=0.2, stop=stop)())
    try:
        lines = population(3)
        (tmp_path / ".navet.jsonl").write_bytes(b"\n".join(lines))  # a dotfile while written
        await asyncio.sleep(0.5)
        assert not (tmp_path / "done").exists()
        (tmp_path / ".navet.jsonl").rename(tmp_path / "navet.jsonl")
        (tmp_path / "empty.jsonl").write_bytes(b"")
        await wait_for(tmp_path / "quarantine" / "empty.jsonl.reason.txt")
        await wait_for(tmp_path / "done" / "navet.jsonl")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=30)
    [shown] = [s for s in delivery_status() if s["directory"] == str(tmp_path)]
    assert (shown["loaded"], shown["skipped"], shown["quarantined"]) == (1, 0, 1)
    assert (shown["last_loaded"], shown["last_quarantine_reason"]) == ("navet.jsonl", NOT_AN_OBJECT)
    assert (await read(infra.bootstrap_servers, topic)).records == record_ids(lines)


def test_kaa_feed_watch_runs_until_sigterm_printing_a_line_per_file(
    infra: RunningInfra, database: str, tmp_path: Path
) -> None:
    namespace = f"watch{uuid.uuid4().hex[:8]}"
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    env = {**os.environ, "DATABASE_URL": database, "KAFKA_BOOTSTRAP_SERVERS":
           infra.bootstrap_servers, "KAA_NAMESPACE": namespace, "KAA_TENANTS": "0180",
           "KAA_MASTER_KEY": MASTER, "KAA_TOKEN_SECRET": "t" * 40, "KAA_PSEUDONYM_KEY": "p" * 40,
           "KAA_HOME": str(tmp_path / "home")}  # fmt: skip
    watching = subprocess.Popen(
        [sys.executable, "-m", "kaa", "feed", "watch", str(incoming), "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        (incoming / "a.jsonl.tmp").write_bytes(b"\n".join(population(2)))
        (incoming / "a.jsonl.tmp").rename(incoming / "a.jsonl")
        asyncio.run(wait_for(incoming / "done" / "a.jsonl", seconds=60))
        watching.send_signal(signal.SIGTERM)
        out, err = watching.communicate(timeout=30)
        assert watching.returncode == 0, err
        assert out.splitlines() == ["a.jsonl: loaded 2 records"]
        assert "stopped" in err
    finally:
        if watching.poll() is None:
            watching.kill()
        specs = all_topic_specs(prefix=f"{namespace}.")
        asyncio.run(delete_topics(infra.bootstrap_servers, [s.name for s in specs]))
