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

from services.register.adapters.database import Connection
from shared.contracts.events import ContactDetails, PersonalDetails
from shared.crypto import SealedDataError, TenantKeys, open_sealed

log = structlog.get_logger(__name__)

_SEALED = """
SELECT y.youth_id, i.personal_details, c.contact_details, k.wrapped
FROM unnest($2::uuid[]) AS y(youth_id)
LEFT JOIN identities i ON i.tenant = $1 AND i.youth_id = y.youth_id
LEFT JOIN contact_details c ON c.tenant = $1 AND c.youth_id = y.youth_id
LEFT JOIN keyring.youth_keys k ON k.tenant = $1 AND k.youth_id = y.youth_id
WHERE i.youth_id IS NOT NULL OR c.youth_id IS NOT NULL
"""

_PURGED = """
SELECT youth_id FROM youths
WHERE tenant = $1 AND youth_id = ANY($2::uuid[]) AND purged_at IS NOT NULL
"""
_KNOWN = "SELECT 1 FROM youths WHERE tenant = $1 AND youth_id = $2"
IdentityState = Literal["open", "missing", "redacted", "tampered"]


@dataclass(frozen=True)
class Identity:
    state: IdentityState
    details: PersonalDetails | None = None
    contact: ContactDetails | None = None


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
        if found[youth_id].state == "redacted":
            continue
        if row["wrapped"] is None:
            found[youth_id] = Identity("redacted")
            continue
        try:
            data_key = keys.unwrap(tenant, youth_id, row["wrapped"])
            details = contact = None
            if row["personal_details"] is not None:
                details = PersonalDetails.model_validate_json(
                    open_sealed(data_key, row["personal_details"], tenant, youth_id,
                                PersonalDetails.PURPOSE)
                )  # fmt: skip
            if row["contact_details"] is not None:
                contact = ContactDetails.model_validate_json(
                    open_sealed(data_key, row["contact_details"], tenant, youth_id,
                                ContactDetails.PURPOSE)
                )  # fmt: skip
            found[youth_id] = Identity("open" if details else "missing", details, contact)
        except SealedDataError as error:
            log.error("sealed personal details refused", tenant=tenant, youth_id=str(youth_id),
                      reason=str(error))  # fmt: skip
            found[youth_id] = Identity("tampered")
    return found


async def youth_known(conn: Connection, tenant: str, youth_id: uuid.UUID) -> bool:
    """Whether the register holds the youth in this municipality (in scope or not, ever)."""
    return bool(await conn.fetchval(_KNOWN, tenant, youth_id))
