"""Opening the personal details the register holds sealed (only for authorised reads and exports).

A youth's details open with their data key from the keyring. When the key has been destroyed
(retention), the youth is `redacted`: dates, codes and actors stay, the person is gone. A ciphertext
that fails authentication is refused and logged with the youth id only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import structlog

from services.register.projection import Connection
from shared.contracts.events import PersonalDetails
from shared.crypto import SealedDataError, TenantKeys, open_sealed

log = structlog.get_logger(__name__)

_SEALED = """
SELECT i.youth_id, i.personal_details, k.wrapped
FROM identities i
LEFT JOIN keyring.youth_keys k ON k.tenant = i.tenant AND k.youth_id = i.youth_id
WHERE i.tenant = $1 AND i.youth_id = ANY($2::uuid[])
"""

_PURGED = """
SELECT youth_id FROM youths
WHERE tenant = $1 AND youth_id = ANY($2::uuid[]) AND purged_at IS NOT NULL
"""
IdentityState = Literal["open", "missing", "redacted", "tampered"]


@dataclass(frozen=True)
class Identity:
    state: IdentityState
    details: PersonalDetails | None = None


async def identities(
    conn: Connection, keys: TenantKeys, tenant: str, youth_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Identity]:
    """Each youth's identity: open, missing (no population record named them), redacted (their
    key is destroyed), or tampered (the sealed details or the wrapped key fail authentication)."""
    found: dict[uuid.UUID, Identity] = {y: Identity("missing") for y in youth_ids}
    for purged in await conn.fetch(_PURGED, tenant, list(youth_ids)):
        found[purged["youth_id"]] = Identity("redacted")
    for row in await conn.fetch(_SEALED, tenant, list(youth_ids)):
        youth_id: uuid.UUID = row["youth_id"]
        if row["wrapped"] is None:
            found[youth_id] = Identity("redacted")
            continue
        try:
            data_key = keys.unwrap(tenant, youth_id, row["wrapped"])
            plain = open_sealed(
                data_key, row["personal_details"], tenant, youth_id, PersonalDetails.PURPOSE
            )
            found[youth_id] = Identity("open", PersonalDetails.model_validate_json(plain))
        except SealedDataError as error:
            log.error("sealed personal details refused", tenant=tenant, youth_id=str(youth_id),
                      reason=str(error))  # fmt: skip
            found[youth_id] = Identity("tampered")
    return found
