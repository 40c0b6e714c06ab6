"""Records onto the SS 12000 feed topic through the same intake as a loaded file: each sealed
with its person's intake key (`shared.intake.FeedSealer`), keyed by the person's keyed hash,
published by the service's idempotent producer; then the organiser's watermark."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.crypto import TenantKeys, ensure_keyring
from shared.feed_adapter import publish_watermarks
from shared.intake import FeedSealer


class FeedPublisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        pool: asyncpg.Pool,
        keys: TenantKeys,
        pseudonym_key: str,
        topic: str,
    ) -> None:
        self.producer = producer
        self.pool = pool
        self.sealer = FeedSealer(keys, pseudonym_key)
        self.topic = topic
        self._keyring_checked = False

    async def publish(self, lines: Sequence[bytes]) -> int:
        """Seal and publish the lines in order; returns once the broker acknowledged them all."""
        if not lines:
            return 0
        async with self.pool.acquire() as conn:
            if not self._keyring_checked:
                await ensure_keyring(conn)
                self._keyring_checked = True
            records = await self.sealer.seal(conn, lines)
        sent = [await self.producer.send(self.topic, value=v, key=k) for k, v in records]
        await asyncio.gather(*sent)
        return len(sent)

    async def watermark(self, tenant: str, source: str, complete_up_to: datetime) -> None:
        """`source` is complete up to the instant for `tenant`, on every partition."""
        await publish_watermarks(self.producer, self.topic, source, {tenant: complete_up_to})
