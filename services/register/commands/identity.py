"""Reading who a youth is (for contacting them): the record opened from the sealed details, every
read (and every refused one) in the access log.

Under skyddad folkbokföring the address is never returned, and the record only to a reader with
the `protected-identity` grant; sealed details that fail authentication are refused and the
incident logged. Refusals name the field and the reason, never a value; the HTTP route maps each
to its status code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.register.adapters.access import Database
from services.register.adapters.identity import IdentityState, identities, youth_known
from shared import access_log
from shared.auth import Principal
from shared.crypto import TenantKeys

PROTECTED_GRANT = "protected-identity"


class IdentityRefused(Exception):
    """A read of an identity refused: `field` and `reason`, never a value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class NoSuchYouth(IdentityRefused):
    def __init__(self) -> None:
        super().__init__("youth_id", "no such youth in your municipality")


class TamperedIdentity(IdentityRefused):
    def __init__(self) -> None:
        super().__init__(
            "personal_details",
            "the sealed details fail authentication (tampered or not this youth's); refused, "
            "and the incident is logged",
        )


class ProtectedIdentity(IdentityRefused):
    def __init__(self) -> None:
        super().__init__(
            "youth_id", f"a protected identity; reading it requires the {PROTECTED_GRANT} grant"
        )


@dataclass(frozen=True)
class Address:
    street: str | None
    postal_code: str | None
    city: str | None


@dataclass(frozen=True)
class YouthIdentity:
    """Who a youth is, as a reader may see it (no address under protection)."""

    youth_id: uuid.UUID
    state: IdentityState
    personnummer: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    address: Address | None = None
    email: str | None = None
    phone: str | None = None
    protected: bool = False


async def read_identity(
    database: Database,
    keys: TenantKeys,
    reader: Principal,
    youth_id: uuid.UUID,
    purpose: access_log.Purpose,
) -> YouthIdentity:
    """The youth's identity for `reader`, its read in the access log; `NoSuchYouth`,
    `TamperedIdentity` or `ProtectedIdentity` (the last two logged as refused reads)."""
    async with database.acquire() as conn:
        found = (await identities(conn, keys, reader.tenant, [youth_id]))[youth_id]
        known = await youth_known(conn, reader.tenant, youth_id)
    if not known:
        raise NoSuchYouth
    if found.state == "tampered":
        await _logged(database, reader, youth_id, purpose, "identity refused: tampered")
        raise TamperedIdentity
    details = found.details
    if details is not None and details.protected and PROTECTED_GRANT not in reader.grants:
        await _logged(database, reader, youth_id, purpose, "identity refused: protected")
        raise ProtectedIdentity
    await _logged(database, reader, youth_id, purpose, f"identity ({found.state})")
    email, phone = (found.contact.email, found.contact.phone) if found.contact else (None, None)
    if details is None:
        return YouthIdentity(youth_id, found.state, email=email, phone=phone)
    return YouthIdentity(
        youth_id=youth_id,
        state=found.state,
        personnummer=details.personnummer,
        given_name=details.given_name,
        family_name=details.family_name,
        address=None
        if details.protected
        else Address(street=details.street, postal_code=details.postal_code, city=details.city),
        email=email,
        phone=phone,
        protected=details.protected,
    )


async def _logged(
    database: Database,
    reader: Principal,
    youth_id: uuid.UUID,
    purpose: access_log.Purpose,
    what: str,
) -> None:
    async with database.acquire() as conn:
        await access_log.record(
            conn, access_log.Access(reader.tenant, reader.actor, purpose, what, "register"),
            [youth_id],
        )  # fmt: skip
