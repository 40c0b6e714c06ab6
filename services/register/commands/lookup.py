"""Find a youth by personnummer: the number is keyed with the pseudonym key (never stored, never
logged) and looked up among the municipality's youths; the look-up, with its purpose, goes to the
access log of the youth found. A person the municipality does not hold — unknown, another
municipality's, purged — is the same "not found", and nothing is logged."""

from __future__ import annotations

import uuid
from typing import Literal

from services.register.adapters.access import Database
from services.register.adapters.lookup import youth_of_subject
from shared import access_log, personnummer
from shared.auth import Principal
from shared.pseudonym import person_key

LookupPurpose = Literal["casework", "identity"]
LOOKUP_PURPOSES: tuple[LookupPurpose, ...] = ("casework", "identity")


class LookupRefused(Exception):
    """A look-up refused: `field` and `reason`, never the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


async def find_youth(
    database: Database,
    caller: Principal,
    number: str,
    purpose: LookupPurpose,
    pseudonym_key: str,
) -> uuid.UUID | None:
    """The youth id of the person `number` names in the caller's municipality, or None."""
    try:
        digits = personnummer.normalize(number)
    except personnummer.InvalidPersonnummer as invalid:
        raise LookupRefused("personnummer", str(invalid)) from None
    subject = person_key(digits, pseudonym_key)
    async with database.acquire() as conn, conn.transaction():
        youth = await youth_of_subject(conn, caller.tenant, subject)
        if youth is not None:
            access = access_log.Access(
                caller.tenant, caller.actor, purpose, "lookup by personnummer", "register"
            )
            await access_log.record(conn, access, [youth])
    return youth
