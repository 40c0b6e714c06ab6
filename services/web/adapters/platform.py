"""What the operator's page reads of the platform itself, beside the services' APIs: each service
process's `/health`, the consumer groups' and outbox relays' lag, the dead-letter topics (counts
and reasons, never contents), the register's last rebuild and the last retention that destroyed
keys, the connect service's organisers, and the consortium's members from the deployment's
settings.

Why an adapter of its own: none of this is a service's data about youths. The health documents
are the processes' own; lag and dead letters live in Kafka (no service offers them over HTTP; the
CLI reads them the same way, `kaa dlq list`); the outbox positions, the register's projection
version and the keyring's destruction times are operational counters read from the deployment's
database with the web's own connection — counts, times and versions only, never a row's content.
Every read has a deadline: a page that cannot read something says so instead of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.web.adapters.config import WebConfig
from shared import consortium
from shared.auth import TENANT_HEADER
from shared.messaging.dead_letters import DeadLetterSummary, summarize
from shared.messaging.lag import OutboxLag, PartitionLag, lag_by_partition, outbox_lag
from shared.settings import ServiceSettings

T = TypeVar("T")
SERVICES = ("identify", "outreach", "measures", "register")
DEAD_LETTERS_SHOWN = 5  # the latest reasons per dead-letter topic


class PlatformConfig(BaseSettings):
    """The operator page's own settings (`KAA_WEB_…`, beside `WebConfig`'s)."""

    model_config = SettingsConfigDict(env_prefix="KAA_WEB_", extra="ignore")

    connect_url: str | None = Field(
        default=None,
        description="The connect service (`kaa run connect`), when the deployment runs it: its "
        "health and its organisers' status are shown to operators.",
    )
    platform_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long the operator page waits for each read."
    )


class Unreadable(Exception):
    """What the page could not read now (`what` names it; never a value)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} could not be read")
        self.what = what


@dataclass(frozen=True)
class Health:
    service: str
    status: str  # ok, degraded, unreachable
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Store:
    """What the deployment's database says: the outboxes, the register's last rebuild, and the
    last destruction of keys by retention per municipality (time and how many in all)."""

    outboxes: list[OutboxLag]
    projection_version: int | None
    rebuilt_at: datetime | None
    retention: dict[str, tuple[datetime, int]]


@dataclass(frozen=True)
class Member:
    kommunkod: str
    name: str
    scope_policy: dict[str, Any]
    retention_days: int | None  # None: the register's default


class Platform:
    """Reads of the running platform, with the deployment's settings read once, when first
    needed (the web process has them in its environment, as every service has)."""

    def __init__(self, config: WebConfig, own: PlatformConfig | None = None) -> None:
        self.config = config
        self.own = own or PlatformConfig()
        self._settings: ServiceSettings | None = None

    def settings(self) -> ServiceSettings:
        if self._settings is None:
            try:
                self._settings = ServiceSettings()
            except ValueError:
                raise Unreadable("settings") from None
        return self._settings

    async def _within(self, what: str, work: Awaitable[T], longer: float = 1.0) -> T:
        try:
            return await asyncio.wait_for(work, self.own.platform_timeout_seconds * longer)
        except Unreadable:
            raise
        except Exception:  # whatever failed, the page says what it could not read
            raise Unreadable(what) from None

    def urls(self) -> dict[str, str]:
        found = {name: self.config.url_of(name) for name in SERVICES}
        if self.own.connect_url:
            found["connect"] = self.own.connect_url.rstrip("/")
        return found

    async def health(self) -> list[Health]:
        """Every service process's `/health`, asked at once."""
        timeout = self.own.platform_timeout_seconds
        async with httpx.AsyncClient(timeout=timeout) as client:

            async def one(service: str, url: str) -> Health:
                try:
                    answer = await client.get(f"{url}/health")
                    said = answer.json()
                except (httpx.HTTPError, ValueError):
                    return Health(service, "unreachable")
                if not isinstance(said, dict):
                    return Health(service, "unreachable")
                status = "ok" if said.get("status") == "ok" else "degraded"
                return Health(service, status, [str(p) for p in said.get("problems") or []])

            return list(await asyncio.gather(*(one(s, u) for s, u in self.urls().items())))

    async def consumer_lag(self) -> list[PartitionLag]:
        settings = self.settings()
        return await self._within(
            "lag",
            lag_by_partition(settings.kafka_bootstrap_servers, settings.namespace),
        )

    async def dead_letters(self) -> list[DeadLetterSummary]:
        settings = self.settings()
        work = summarize(settings.kafka_bootstrap_servers, settings.namespace, DEAD_LETTERS_SHOWN)
        return await self._within("dead-letters", work, longer=2.0)  # a read per topic

    async def store(self) -> Store:
        return await self._within("store", self._store())

    async def _store(self) -> Store:
        settings = self.settings()
        conn = await asyncpg.connect(settings.database_url.get_secret_value())
        try:
            async with conn.transaction(readonly=True):
                outboxes = await outbox_lag(conn)
                version, built = None, None
                if await conn.fetchval("SELECT to_regclass('register.projection_version')"):
                    row = await conn.fetchrow(
                        "SELECT version, built_at FROM register.projection_version"
                        " ORDER BY version DESC LIMIT 1"
                    )
                    version, built = (row["version"], row["built_at"]) if row else (None, None)
                retention: dict[str, tuple[datetime, int]] = {}
                if await conn.fetchval("SELECT to_regclass('keyring.destroyed_keys')"):
                    rows = await conn.fetch(
                        "SELECT tenant, max(destroyed_at) AS at, count(*) AS n"
                        " FROM keyring.destroyed_keys WHERE reason LIKE 'retention%'"
                        " AND tenant = ANY($1::char(4)[]) GROUP BY tenant",
                        list(settings.tenants),
                    )
                    retention = {str(r["tenant"]): (r["at"], int(r["n"])) for r in rows}
        finally:
            await conn.close()
        return Store(outboxes, version, built, retention)

    async def connectors(self, token: str, tenant: str) -> dict[str, Any] | None:
        """The connect service's organisers as the operator's token may see them (None when the
        deployment runs no connect service)."""
        if not self.own.connect_url:
            return None
        url = f"{self.own.connect_url.rstrip('/')}/v1/connectors"
        headers = {"Authorization": f"Bearer {token}", TENANT_HEADER: tenant}

        async def read() -> dict[str, Any]:
            async with httpx.AsyncClient(timeout=self.own.platform_timeout_seconds) as client:
                answer = await client.get(url, headers=headers)
            answer.raise_for_status()
            said: dict[str, Any] = answer.json()
            return said

        return await self._within("connectors", read())

    def members(self) -> list[Member]:
        """The municipalities this deployment serves (what `kaa consortium` prints)."""
        settings = self.settings()
        return [
            Member(
                kommunkod=code,
                name=settings.tenant_names.get(code, ""),
                scope_policy=dict(settings.tenant_policies.get(code) or {}),
                retention_days=settings.retention_days.get(code),
            )
            for code in settings.tenants
        ]

    @property
    def consortium_name(self) -> str | None:
        file = self.settings().consortium_file
        if file is None:
            return None
        try:
            return consortium.load(file).name
        except ValueError:
            return None
