"""What the register holds about one youth, gathered for their own extract (`commands/extract.py`):
the identity opened from the sealed details, the timeline with the caseworkers' sealed words
opened, and every access log entry about the youth (never another youth's), oldest first."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from services.register.adapters import readmodel
from services.register.adapters.access import Database
from services.register.adapters.identity import Identity, identities, youth_known
from services.register.domain.extract import ShownIdentity
from shared.crypto import TenantKeys

_ARCHIVED = """
SELECT event_id, payload FROM applied_events
WHERE tenant = $1 AND youth_id = $2 AND event_id = ANY($3::uuid[]) AND payload IS NOT NULL
"""
_ACCESS = """
SELECT at, actor, purpose, service FROM access_log.entries
WHERE tenant = $1 AND youth_id = $2 ORDER BY position
"""


async def known(database: Database, tenant: str, youth_id: uuid.UUID) -> bool:
    """Whether the register holds the youth in this municipality (in scope or not, ever)."""
    async with database.acquire() as conn:
        return await youth_known(conn, tenant, youth_id)


async def identity(
    database: Database, keys: TenantKeys, tenant: str, youth_id: uuid.UUID
) -> ShownIdentity:
    """The youth's identity opened (open, missing, redacted or tampered), with contact details."""
    async with database.acquire() as conn:
        found: Identity = (await identities(conn, keys, tenant, [youth_id]))[youth_id]
    details, contact = found.details, found.contact
    email, phone = (contact.email, contact.phone) if contact else (None, None)
    if details is None:
        return ShownIdentity(found.state, email=email, phone=phone)
    return ShownIdentity(
        state=found.state, personnummer=details.personnummer, given_name=details.given_name,
        family_name=details.family_name, street=details.street, postal_code=details.postal_code,
        city=details.city, protected=details.protected, email=email, phone=phone,
    )  # fmt: skip


async def timeline(
    database: Database, keys: TenantKeys, tenant: str, youth_id: uuid.UUID
) -> dict[str, Any]:
    """The youth's register content, the sealed words (plans, measures' content, correction
    notes) opened with the youth's data key as the keyring holds it now."""
    found = await readmodel.youth_timeline(database, tenant, youth_id)
    if found is None:
        return {}
    return await readmodel.open_free_text(database, keys, tenant, youth_id, found)


async def access_entries(
    database: Database, tenant: str, youth_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every access log entry about the youth in this municipality, oldest first."""
    async with database.acquire() as conn:
        return [dict(row) for row in await conn.fetch(_ACCESS, tenant, youth_id)]


async def archived(
    database: Database, tenant: str, youth_id: uuid.UUID, event_ids: Sequence[uuid.UUID]
) -> dict[str, dict[str, Any]]:
    """The youth's events named, as the register's archive keeps them (by event id as text): what
    a correction put right and what replaced it. An event the archive lacks is left out."""
    if not event_ids:
        return {}
    async with database.acquire() as conn:
        rows = await conn.fetch(_ARCHIVED, tenant, youth_id, list(event_ids))
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        try:
            found[str(row["event_id"])] = json.loads(bytes(row["payload"]))
        except ValueError:
            continue  # a copy that no longer reads: stated as kept in the archive
    return found
