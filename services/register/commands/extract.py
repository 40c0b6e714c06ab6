"""The youth's own extract (GDPR art. 15): everything the municipality holds about one youth, as
JSON and as a PDF in Swedish; producing it is itself in the access log (purpose `extract`).

A youth the register never held in the municipality is `NoSuchYouth` (nothing logged). A protected
identity's extract needs the `protected-identity` grant like every read of that record (refused
and logged otherwise), and never shows the address. A purged youth's extract is the skeleton
retention left, stated as such.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.register.adapters import extract_queries as queries
from services.register.adapters.access import Database
from services.register.adapters.extract_pdf import extract_pdf
from services.register.commands.identity import NoSuchYouth, ProtectedIdentity
from services.register.domain.extract import Held, assemble
from services.register.domain.extract_document import document
from shared import access_log
from shared.crypto import TenantKeys

__all__ = ["NoSuchYouth", "ProtectedIdentity", "as_pdf", "produce_extract"]


async def produce_extract(
    database: Database,
    keys: TenantKeys,
    reader: access_log.Access,
    youth_id: uuid.UUID,
    retention_days: int,
    may_see_protected: bool,
    now: datetime,
) -> dict[str, Any]:
    """The extract of `youth_id` for `reader` (whose municipality, actor and service the access
    log records), its production logged before the access log is read, so the extract lists it."""
    tenant = reader.tenant
    if not await queries.known(database, tenant, youth_id):
        raise NoSuchYouth
    shown = await queries.identity(database, keys, tenant, youth_id)
    if shown.protected and not may_see_protected:
        await _logged(database, reader, youth_id, f"{reader.what} refused: protected")
        raise ProtectedIdentity
    await _logged(database, reader, youth_id, f"{reader.what} ({shown.state})")
    timeline = await queries.timeline(database, keys, tenant, youth_id)
    access = await queries.access_entries(database, tenant, youth_id)
    named = [
        c[key] for c in timeline.get("corrections") or [] for key in ("event_id", "target_event_id")
    ]
    entries = await queries.archived(database, tenant, youth_id, named)
    held = Held(tenant, youth_id, shown, timeline, access, entries)
    return assemble(held, retention_days, now)


def as_pdf(extract: dict[str, Any]) -> bytes:
    """The extract as a PDF in Swedish (title, language and headings in the file)."""
    return extract_pdf(document(extract), extract["title"])


async def _logged(
    database: Database, reader: access_log.Access, youth_id: uuid.UUID, what: str
) -> None:
    entry = access_log.Access(reader.tenant, reader.actor, reader.purpose, what, reader.service)
    async with database.acquire() as conn:
        await access_log.record(conn, entry, [youth_id])
