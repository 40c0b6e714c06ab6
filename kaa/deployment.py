"""An isolated deployment of the whole platform on shared infrastructure.

Its own database, its own topic namespace, its own secrets and ports: the demo, the end-to-end and
crash tests and the benchmark each get one, so they never see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from kaa.supervisor import PORTS, SERVICES, Platform, wait_drained
from shared.auth import issue_token
from shared.contracts.topics import FEED_BY_NAME, all_topic_specs, namespace_prefix
from shared.feed_adapter import FeedAdapter
from shared.infra.kafka_admin import delete_topics, ensure_topics
from shared.settings import ServiceSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different free ports: each held open until all are chosen (one released before the
    next is asked for may be handed out again, and two services of a deployment then share it)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def database_url_for(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class Deployment:
    name: str
    bootstrap_servers: str
    admin_database_url: str
    logs_dir: Path
    tenants: tuple[str, ...] = ("0180",)
    today: date | None = None
    batch_size: int = 500
    # The sources identify waits for before it decides (None: the services' default) and the
    # settle window in seconds (KAA_FEED_SOURCES, KAA_FEED_SETTLE).
    feed_sources: tuple[str, ...] | None = None
    feed_settle: float | None = None
    token_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    pseudonym_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    master_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    platform: Platform | None = None

    @property
    def namespace(self) -> str:
        """The topic and consumer-group prefix (`<name>.`); the database is the deployment's
        own too, since a namespace does not separate schemas (`shared.eventstore.claim_database`)."""
        return namespace_prefix(self.name)

    @property
    def database(self) -> str:
        return self.name.replace("-", "_").replace(".", "_")

    @property
    def database_url(self) -> str:
        return database_url_for(self.admin_database_url, self.database)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = {
            **base,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "DATABASE_URL": self.database_url,
            "KAA_NAMESPACE": self.namespace,
            "KAA_TENANTS": ",".join(self.tenants),
            "KAA_TOKEN_SECRET": self.token_secret,
            "KAA_PSEUDONYM_KEY": self.pseudonym_key,
            "KAA_MASTER_KEY": self.master_key,
            "KAA_BATCH_SIZE": str(self.batch_size),
        }
        if self.today is not None:
            env["KAA_TODAY"] = self.today.isoformat()
        if self.feed_sources is not None:
            env["KAA_FEED_SOURCES"] = ",".join(self.feed_sources)
        if self.feed_settle is not None:
            env["KAA_FEED_SETTLE"] = str(self.feed_settle)
        return env

    async def reset(self) -> None:
        """Fresh database and fresh topics for this deployment."""
        conn = await asyncpg.connect(self.admin_database_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()
        specs = all_topic_specs(prefix=self.namespace)
        await delete_topics(self.bootstrap_servers, [s.name for s in specs])
        for _ in range(50):  # topic deletion completes asynchronously on the broker
            try:
                await ensure_topics(self.bootstrap_servers, specs)
                return
            except Exception:
                await asyncio.sleep(0.2)
        await ensure_topics(self.bootstrap_servers, specs)

    async def drop(self) -> None:
        conn = await asyncpg.connect(self.admin_database_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            # Roles the services made for this database (their readers).
            for (role,) in await conn.fetch(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE $1", f"{self.database}\\_%"
            ):
                await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await conn.close()
        await delete_topics(
            self.bootstrap_servers, [s.name for s in all_topic_specs(prefix=self.namespace)]
        )

    def start(self, base_env: dict[str, str], names: list[str] | None = None) -> Platform:
        ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
        self.platform = Platform(env=self.env(base_env), logs_dir=self.logs_dir, ports=ports)
        self.platform.start(names)
        return self.platform

    def stop(self) -> dict[str, int | None]:
        return self.platform.stop() if self.platform else {}

    @property
    def feed_adapter(self) -> FeedAdapter:
        return FeedAdapter(
            self.bootstrap_servers, self.database_url, self.master_key, self.pseudonym_key
        )

    async def load(self, feed: str, path: Path) -> int:
        """Publish a feed file through the feed adapter (records sealed)."""
        return await self.feed_adapter.load(
            path, f"{self.namespace}{FEED_BY_NAME[feed]}", source=feed
        )

    async def publish_feed(
        self, feed: str, lines: Iterable[bytes], *, complete: bool = True
    ) -> int:
        """Publish feed lines through the feed adapter (records sealed), in order; `complete`:
        followed by the feed's watermark (the lines are the feed's whole delivery)."""
        return await self.feed_adapter.publish(
            lines, f"{self.namespace}{FEED_BY_NAME[feed]}", source=feed if complete else None
        )

    async def drained(self, max_wait: float = 120.0) -> float:
        """Until the consumers of the services this deployment started have no lag, and identify
        has no pending person it could decide now (their events would follow)."""
        services = (
            sorted({p.name for p in self.platform.processes.values() if p.name in SERVICES})
            if self.platform
            else None  # the web application has no consumer group of its own to wait for
        )
        started = time.monotonic()
        while True:
            left = max_wait - (time.monotonic() - started)
            if left <= 0:
                raise TimeoutError(f"the pipeline did not drain within {max_wait:.0f} s")
            calm = await wait_drained(
                self.bootstrap_servers, self.namespace, services=services, max_wait=left
            )
            if not await asyncio.to_thread(self._any_decidable):
                return calm
            await asyncio.sleep(0.2)

    def _any_decidable(self) -> bool:
        """Whether identify's release may decide any of its pending persons now."""
        from datetime import UTC, datetime, timedelta

        import psycopg
        from psycopg.rows import dict_row

        from services.identify.adapters import pending_summary

        defaults = ServiceSettings.model_fields
        sources = tuple(
            self.feed_sources if self.feed_sources is not None else defaults["feed_sources"].default
        )
        settle = (
            self.feed_settle if self.feed_settle is not None else defaults["feed_settle"].default
        )
        with psycopg.connect(self.database_url, row_factory=dict_row) as conn, conn.cursor() as cur:
            cur.execute("SELECT to_regclass('identify.scope_pending') IS NOT NULL AS present")
            row = cur.fetchone()
            if row is None or not row["present"]:
                return False  # identify is not part of this deployment (or not started yet)
            return pending_summary.any_decidable(
                cur, "identify", dict.fromkeys(self.tenants, sources), timedelta(seconds=settle),
                datetime.now(UTC),
            )  # fmt: skip

    def token(
        self, tenant: str, *roles: str, subject: str = "test", grants: list[str] | None = None
    ) -> str:
        return issue_token(
            self.token_secret, subject=subject, tenant=tenant, roles=list(roles), grants=grants
        )

    def client(
        self, service: str, tenant: str, *roles: str, grants: list[str] | None = None
    ) -> httpx.Client:
        assert self.platform is not None
        token = self.token(tenant, *roles, grants=grants)
        return httpx.Client(
            base_url=self.platform.url(service),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
