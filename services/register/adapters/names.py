"""Which of a page of youths the register holds in a municipality (for the names on a list)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.register.adapters.database import Connection

_HELD = "SELECT youth_id FROM youths WHERE tenant = $1 AND youth_id = ANY($2::uuid[])"


async def known_youths(
    conn: Connection, tenant: str, youth_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """The ids among `youth_ids` the register holds in `tenant` (in scope or not, ever)."""
    return {row["youth_id"] for row in await conn.fetch(_HELD, tenant, list(youth_ids))}
