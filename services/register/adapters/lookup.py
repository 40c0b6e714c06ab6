"""The youth a municipality's register holds for a person's keyed hash (a caseworker's search by
personnummer): the keyring holds the hash identify stored with the youth's data key."""

from __future__ import annotations

import uuid

from services.register.adapters.database import Connection

_BY_SUBJECT = """
SELECT y.youth_id FROM keyring.youth_keys k
JOIN youths y ON y.tenant = k.tenant AND y.youth_id = k.youth_id
WHERE k.tenant = $1 AND k.subject = $2 AND y.purged_at IS NULL
ORDER BY y.youth_id LIMIT 1
"""


async def youth_of_subject(conn: Connection, tenant: str, subject: str) -> uuid.UUID | None:
    """The youth of `tenant` whose data key was made for the person `subject`, if the register
    holds them (a purged youth's key is gone, and so is the way to them)."""
    found: uuid.UUID | None = await conn.fetchval(_BY_SUBJECT, tenant, subject)
    return found
