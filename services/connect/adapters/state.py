"""The connector's own state in PostgreSQL (schema `connect`): per organiser, how far it is synced,
its subscription and its errors (what the operator sees); and the persons each organiser's
records named, so that a deletion (`/deletedEntities` gives only an id) can be passed on. A
person's civic number is kept sealed with their intake key (`shared.intake`): when retention
destroys that key, it cannot be opened any more either."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.connect.domain.organisers import PersonRef
from shared.crypto import SealedDataError, TenantKeys, open_sealed, seal
from shared.intake import FeedSealer, owner, person_key_of

PURPOSE = "ss12000-person"
DDL = """
CREATE SCHEMA IF NOT EXISTS connect;
CREATE TABLE IF NOT EXISTS connect.organisers (
    tenant text NOT NULL, organiser text NOT NULL, source text NOT NULL, name text NOT NULL,
    last_complete_sync timestamptz, last_sync_persons int, last_sync_seconds real,
    syncing_since timestamptz, pages_read int NOT NULL DEFAULT 0,
    persons_read int NOT NULL DEFAULT 0,
    last_error text, last_error_at timestamptz, errors_in_a_row int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    subscription_id text, subscription_expires timestamptz, subscription_renewed_at timestamptz,
    callback_token_hash text UNIQUE, last_callback_at timestamptz, callbacks int NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, organiser));
ALTER TABLE connect.organisers ADD COLUMN IF NOT EXISTS subscription_error text;
ALTER TABLE connect.organisers ADD COLUMN IF NOT EXISTS last_full_sync timestamptz;
CREATE TABLE IF NOT EXISTS connect.persons (
    tenant text NOT NULL, organiser text NOT NULL, person_id text NOT NULL,
    subject text NOT NULL, sealed_civic_no text NOT NULL,
    PRIMARY KEY (tenant, organiser, person_id));
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Status:
    """One organiser's row, as the operator sees it (no personal data in it)."""

    tenant: str
    organiser: str
    source: str
    name: str
    last_complete_sync: datetime | None
    last_sync_persons: int | None
    last_sync_seconds: float | None
    syncing_since: datetime | None
    pages_read: int
    persons_read: int
    last_error: str | None
    last_error_at: datetime | None
    errors_in_a_row: int
    next_attempt_at: datetime | None
    subscription_id: str | None
    subscription_expires: datetime | None
    subscription_renewed_at: datetime | None
    last_callback_at: datetime | None
    callbacks: int
    subscription_error: str | None
    last_full_sync: datetime | None

    @classmethod
    def of(cls, row: Any) -> Status:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class ConnectState:
    def __init__(self, pool: asyncpg.Pool, keys: TenantKeys, pseudonym_key: str) -> None:
        self.pool = pool
        self.sealer = FeedSealer(keys, pseudonym_key)
        self.pseudonym_key = pseudonym_key

    async def ensure(self, organisers: Iterable[tuple[str, str, str, str]]) -> None:
        """The tables, and a row per (tenant, organiser id, source, name) configured. A row of an
        organiser no longer configured is kept (a rolling restart may still run the old file)
        and left out of the views; `forget_organiser` drops it."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(DDL)
            await conn.executemany(
                "INSERT INTO connect.organisers (tenant, organiser, source, name) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, organiser) DO UPDATE SET "
                "source = EXCLUDED.source, name = EXCLUDED.name",
                list(organisers),
            )

    async def forget_organiser(self, tenant: str, organiser: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for table in ("organisers", "persons"):
                await conn.execute(
                    f"DELETE FROM connect.{table} WHERE tenant = $1 AND organiser = $2",  # noqa: S608
                    tenant, organiser,
                )  # fmt: skip

    async def status(self, tenant: str, organiser: str) -> Status:
        row = await self.pool.fetchrow(
            "SELECT * FROM connect.organisers WHERE tenant = $1 AND organiser = $2",
            tenant, organiser,
        )  # fmt: skip
        return Status.of(row)

    async def all(
        self, tenants: Sequence[str], configured: Collection[tuple[str, str]] | None = None
    ) -> list[Status]:
        """The organisers of `tenants` (those `configured`, when it is given)."""
        rows = await self.pool.fetch(
            "SELECT * FROM connect.organisers WHERE tenant = ANY($1::text[]) "
            "ORDER BY tenant, organiser",
            list(tenants),
        )
        found = [Status.of(r) for r in rows]
        return found if configured is None else [
            s for s in found if (s.tenant, s.organiser) in configured
        ]  # fmt: skip

    async def update(self, tenant: str, organiser: str, **values: Any) -> None:
        names = sorted(values)
        assignments = ", ".join(f"{n} = ${i + 3}" for i, n in enumerate(names))
        await self.pool.execute(
            f"UPDATE connect.organisers SET {assignments}, updated_at = now() "  # noqa: S608 (names are ours)
            "WHERE tenant = $1 AND organiser = $2",
            tenant, organiser, *(values[n] for n in names),
        )  # fmt: skip

    async def count(self, tenant: str, organiser: str, pages: int, persons: int) -> None:
        await self.pool.execute(
            "UPDATE connect.organisers SET pages_read = pages_read + $3, "
            "persons_read = persons_read + $4, updated_at = now() "
            "WHERE tenant = $1 AND organiser = $2",
            tenant, organiser, pages, persons,
        )  # fmt: skip

    async def by_callback(self, token: str) -> tuple[str, str] | None:
        """The (tenant, organiser) whose subscription's callback address holds `token`."""
        row = await self.pool.fetchrow(
            "UPDATE connect.organisers SET last_callback_at = now(), callbacks = callbacks + 1 "
            "WHERE callback_token_hash = $1 RETURNING tenant, organiser",
            token_hash(token),
        )
        return (row["tenant"], row["organiser"]) if row else None

    async def known(self, tenant: str, organiser: str, person_ids: Sequence[str]) -> set[str]:
        """Which of these persons this organiser's records named before."""
        rows = await self.pool.fetch(
            "SELECT person_id FROM connect.persons WHERE tenant = $1 AND organiser = $2 "
            "AND person_id = ANY($3::text[])",
            tenant, organiser, list(person_ids),
        )  # fmt: skip
        return {r["person_id"] for r in rows}

    async def remember(self, tenant: str, organiser: str, refs: Sequence[PersonRef]) -> None:
        """Keep each person's civic number sealed with their intake key (a number that is not a
        valid personnummer is not kept: identify dead-letters that record)."""
        subjects = {}
        for ref in refs:
            subject = person_key_of(
                {"person": {"civicNo": {"value": ref.civic_no}}}, self.pseudonym_key
            )
            if subject is not None:
                subjects[ref.person_id] = (subject, ref)
        if not subjects:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            keys = await self.sealer.intake_keys(
                conn, sorted({(tenant, s) for s, _ in subjects.values()})
            )
            rows = [
                (tenant, organiser, pid, subject,
                 seal(keys[(tenant, subject)], ref.civic_no.encode(), tenant, owner(subject), PURPOSE))
                for pid, (subject, ref) in subjects.items()
            ]  # fmt: skip
            await conn.executemany(
                "INSERT INTO connect.persons VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (tenant, organiser, person_id) DO UPDATE SET "
                "subject = EXCLUDED.subject, sealed_civic_no = EXCLUDED.sealed_civic_no",
                rows,
            )

    async def deleted(
        self, tenant: str, organiser: str, person_ids: Sequence[str]
    ) -> tuple[list[PersonRef], int]:
        """The persons named before among `person_ids`, civic numbers opened; and how many of
        them could not be opened (their intake key destroyed by retention)."""
        rows = await self.pool.fetch(
            "SELECT p.person_id, p.subject, p.sealed_civic_no, k.wrapped FROM connect.persons p "
            "LEFT JOIN keyring.intake_keys k ON k.tenant = p.tenant AND k.subject = p.subject "
            "WHERE p.tenant = $1 AND p.organiser = $2 AND p.person_id = ANY($3::text[])",
            tenant, organiser, list(person_ids),
        )  # fmt: skip
        refs, lost = [], 0
        for row in rows:
            try:
                if row["wrapped"] is None:
                    raise SealedDataError("no key")
                key = self.sealer.keys.unwrap(tenant, owner(row["subject"]), bytes(row["wrapped"]))
                civic = open_sealed(
                    key, row["sealed_civic_no"], tenant, owner(row["subject"]), PURPOSE
                )
            except SealedDataError:
                lost += 1
                continue
            refs.append(PersonRef(row["person_id"], civic.decode()))
        return refs, lost

    async def unlisted(self, tenant: str, organiser: str, listed: Collection[str]) -> list[str]:
        """The persons this organiser's records named before that a full listing no longer has;
        first, those whose civic number retention made unopenable are forgotten."""
        await self.pool.execute(
            "DELETE FROM connect.persons p WHERE p.tenant = $1 AND p.organiser = $2 AND NOT "
            "EXISTS (SELECT 1 FROM keyring.intake_keys k WHERE k.tenant = p.tenant "
            "AND k.subject = p.subject)",
            tenant, organiser,
        )  # fmt: skip
        rows = await self.pool.fetch(
            "SELECT person_id FROM connect.persons WHERE tenant = $1 AND organiser = $2 "
            "AND NOT person_id = ANY($3::text[])",
            tenant, organiser, list(listed),
        )  # fmt: skip
        return [r["person_id"] for r in rows]

    async def forget(self, tenant: str, organiser: str, person_ids: Sequence[str]) -> None:
        await self.pool.execute(
            "DELETE FROM connect.persons WHERE tenant = $1 AND organiser = $2 "
            "AND person_id = ANY($3::text[])",
            tenant, organiser, list(person_ids),
        )  # fmt: skip
