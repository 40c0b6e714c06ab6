"""The feed-file loader: publishes a JSON-lines feed file to its topic, each record sealed with its
person's intake key (only the envelope stays readable), and a source's watermarks.

Used by `kaa feed load`, `kaa feed watermark` and `kaa feed watch`, the connect service (SS 12000
organisers, population deliveries), the demo, the tests and the benchmarks. The
synthetic feed files themselves are written by `kaa.dev.synthetic_feeds` (development only).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from shared.contracts.feeds import FeedWatermark
from shared.crypto import TenantKeys, ensure_keyring
from shared.intake import FeedSealer, person_key_of


def message_key(raw: bytes, pseudonym_key: str) -> bytes | None:
    """Kafka key of a feed line: the person's keyed hash, or None when no valid number is in it."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    key = person_key_of(data, pseudonym_key) if isinstance(data, dict) else None
    return key.encode() if key else None


def read_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        for line in handle:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def keyed_lines(path: Path, pseudonym_key: str) -> list[tuple[bytes | None, bytes]]:
    """Every non-empty line of `path` with its Kafka key (the person's keyed hash)."""
    return [(message_key(raw, pseudonym_key), raw) for raw in read_lines(path)]


async def publish(
    records: Iterable[tuple[bytes | None, bytes]],
    topic: str,
    bootstrap: str,
    *,
    source: str | None = None,
) -> int:
    """Publish (key, value) records in order with an idempotent producer; returns how many. With
    a `source`, the records are its whole delivery: its watermarks follow them."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=20
    )
    await producer.start()
    try:
        latest: dict[str, datetime] = {}
        if source is not None:
            listed = list(records)
            for _ in _observed((value for _, value in listed), latest):
                pass
            records = listed
        count = await _send_all(producer, topic, records)
        if source is not None:
            await publish_watermarks(producer, topic, source, latest)
        return count
    finally:
        await producer.stop()


async def _send_all(
    producer: AIOKafkaProducer, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> int:
    count = 0
    pending = []
    for key, value in records:
        pending.append(await producer.send(topic, value=value, key=key))
        count += 1
        if len(pending) >= 20_000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return count


def _chunks(lines: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class FeedAdapter:
    """Where the feed adapter seals (the keyring's database, the master and pseudonym keys) and
    publishes (Kafka) feed lines: every record's body is sealed with its subject's intake key
    (`shared.intake`), so no personal data is on the topic in the clear."""

    bootstrap_servers: str
    database_url: str
    master_key: str
    pseudonym_key: str
    chunk: int = 5_000

    async def sealed(self, lines: Iterable[bytes]) -> list[tuple[bytes | None, bytes]]:
        """(key, value) records ready to publish (benchmarks seal before they time)."""
        out: list[tuple[bytes | None, bytes]] = []
        async for records in self._sealed_chunks(lines):
            out.extend(records)
        return out

    async def _sealed_chunks(
        self, lines: Iterable[bytes]
    ) -> AsyncIterator[list[tuple[bytes | None, bytes]]]:
        sealer = FeedSealer(TenantKeys(self.master_key), self.pseudonym_key)
        conn = await asyncpg.connect(self.database_url)
        try:
            await ensure_keyring(conn)
            for chunk in _chunks(lines, self.chunk):
                yield await sealer.seal(conn, chunk)
        finally:
            await conn.close()

    async def publish(
        self,
        lines: Iterable[bytes],
        topic: str,
        progress: Callable[[int], None] | None = None,
        *,
        source: str | None = None,
    ) -> int:
        """Seal and publish lines in order (idempotent producer); returns how many. `progress`
        hears the count after each chunk the broker has acknowledged.

        With a `source`, the load ends with its watermark: for each municipality the lines carry,
        "`source` complete up to the latest `observed_at` among them", one copy on every
        partition of the topic, after the records (`FeedWatermark`)."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, enable_idempotence=True, acks="all",
            linger_ms=20,
        )  # fmt: skip
        await producer.start()
        try:
            count = 0
            latest: dict[str, datetime] = {}
            observed = _observed(lines, latest) if source is not None else lines
            async for records in self._sealed_chunks(observed):
                count += await _send_all(producer, topic, records)
                if progress is not None:
                    progress(count)
            if source is not None:
                await publish_watermarks(producer, topic, source, latest)
            return count
        finally:
            await producer.stop()

    async def load(
        self,
        path: Path,
        topic: str,
        progress: Callable[[int], None] | None = None,
        *,
        source: str | None = None,
    ) -> int:
        """Publish every non-empty line of `path`, sealed; validation happens in identify. With
        a `source`, the file is the source's whole delivery: its watermarks follow it."""
        return await self.publish(read_lines(path), topic, progress, source=source)


def _observed(lines: Iterable[bytes], latest: dict[str, datetime]) -> Iterator[bytes]:
    """Pass the lines through, noting each municipality's latest `observed_at`. A line that does
    not say it plainly (no 4-digit municipality, no time with its zone, a time ahead of the
    clock) moves no watermark; identify dead-letters what is wrong with it."""
    ahead = datetime.now(UTC) + timedelta(minutes=5)
    for line in lines:
        try:
            data = orjson.loads(line)
            tenant, at = data["tenant"], datetime.fromisoformat(data["observed_at"])
        except (ValueError, TypeError, KeyError):
            yield line
            continue
        plain = isinstance(tenant, str) and len(tenant) == 4 and tenant.isdigit()
        if plain and at.tzinfo is not None and at <= ahead:
            known = latest.get(tenant)
            if known is None or at > known:
                latest[tenant] = at
        yield line


def watermark_messages(
    source: str, latest: dict[str, datetime], partitions: int
) -> list[tuple[int, bytes]]:
    """(partition, value) of each municipality's "complete up to" marker, one per partition."""
    out: list[tuple[int, bytes]] = []
    for tenant, at in sorted(latest.items()):
        marker = FeedWatermark(
            watermark_id=uuid.uuid4(), tenant=tenant, source=source, complete_up_to=at,
            partitions=partitions,
        )  # fmt: skip
        value = marker.model_dump_json().encode()
        out.extend((partition, value) for partition in range(partitions))
    return out


async def publish_watermarks(
    producer: AIOKafkaProducer, topic: str, source: str, latest: dict[str, datetime]
) -> int:
    """Send the markers of `latest` to every partition of `topic`; returns how many were sent."""
    if not latest:
        return 0
    partitions = len(await producer.partitions_for(topic))
    sent = [
        await producer.send(topic, value=value, partition=partition)
        for partition, value in watermark_messages(source, latest, partitions)
    ]
    await asyncio.gather(*sent)
    return len(sent)
