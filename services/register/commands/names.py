"""Names on a list: one page of youths' names and ages for a caseworker's worklist or the
register's lists, with a purpose; one access log entry per youth shown.

Only the name and the age (whole years on today's date, from the birth date the personnummer
encodes; never the personnummer itself) are opened. The register holds no municipality of school
(only the school type of an episode), so there is none to show. The rules are the identity read's
(`commands/identity.py`): under skyddad folkbokföring the name only to a reader with the
`protected-identity` grant (without it the youth is shown as protected), a purged youth as purged,
sealed details that fail authentication as tampered (the incident logged). A youth the register
does not hold in the reader's municipality — unknown or another municipality's, the same answer —
is listed as not found, and nothing is logged for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.register.adapters.access import Database
from services.register.adapters.identity import Identity, identities
from services.register.adapters.names import known_youths
from services.register.commands.identity import PROTECTED_GRANT
from shared import access_log, personnummer
from shared.auth import Principal
from shared.crypto import TenantKeys

PAGE_SIZE = 100
"""One page: the register's list of youths answers 100 youths a page unless asked otherwise, and
a worklist's page (50) fits. A batch of names is refused above it."""

NamesPurpose = Literal["casework", "register", "identity"]
PURPOSES: tuple[NamesPurpose, ...] = ("casework", "register", "identity")
"""Why names are read (access log purposes): a worklist (casework), a register list (register)."""

NameState = Literal["open", "protected", "purged", "missing", "tampered"]


class NamesRefused(Exception):
    """A batch of names refused: `field` and `reason`, never a value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Name:
    """What a list shows of one youth: the name and age, or why not."""

    youth_id: uuid.UUID
    state: NameState
    given_name: str | None = None
    family_name: str | None = None
    age: int | None = None
    protected: bool = False


@dataclass(frozen=True)
class Names:
    """The youths shown, in the order asked, and the ids the municipality does not hold."""

    items: list[Name]
    not_found: list[uuid.UUID]


def checked_batch(
    youth_ids: Sequence[uuid.UUID], purpose: str
) -> tuple[list[uuid.UUID], NamesPurpose]:
    """The distinct ids in the order asked and the purpose; `NamesRefused` for an empty batch,
    more than one page, or a purpose that is not one of `PURPOSES`."""
    why = next((known for known in PURPOSES if known == purpose), None)
    if why is None:
        raise NamesRefused("purpose", f"is not one of {', '.join(PURPOSES)}")
    if not youth_ids:
        raise NamesRefused("youth_ids", "is empty; give the youths of one page")
    if len(youth_ids) > PAGE_SIZE:
        raise NamesRefused(
            "youth_ids", f"is more than one page; at most {PAGE_SIZE} youths at a time"
        )
    return list(dict.fromkeys(youth_ids)), why


def age_of(digits: str, today: date) -> int | None:
    """Age in whole years on `today` from the birth date a personnummer encodes (None when it
    encodes no date)."""
    try:
        return personnummer.age_on(personnummer.birth_date(digits), today)
    except (personnummer.InvalidPersonnummer, ValueError):
        return None


def shown(youth_id: uuid.UUID, found: Identity, reader: Principal, today: date) -> Name:
    """What `reader` may see of one youth the municipality holds."""
    if found.state == "redacted":
        return Name(youth_id, "purged")
    if found.state == "tampered":
        return Name(youth_id, "tampered")
    details = found.details
    if details is None:
        return Name(youth_id, "missing")
    if details.protected and PROTECTED_GRANT not in reader.grants:
        return Name(youth_id, "protected", protected=True)
    return Name(
        youth_id, "open", details.given_name, details.family_name,
        age_of(details.personnummer, today), protected=details.protected,
    )  # fmt: skip


async def read_names(
    database: Database,
    keys: TenantKeys,
    reader: Principal,
    youth_ids: Sequence[uuid.UUID],
    purpose: str,
    today: date,
) -> Names:
    """Names and ages of one page of youths for `reader`, one access log entry per youth shown
    (what was shown: `names (open)`, `names (protected)`...); `NamesRefused` before anything is
    read for a bad batch or purpose."""
    asked, why = checked_batch(youth_ids, purpose)
    async with database.acquire() as conn:
        held = await known_youths(conn, reader.tenant, asked)
        opened = await identities(conn, keys, reader.tenant, [y for y in asked if y in held])
    items = [shown(y, opened[y], reader, today) for y in asked if y in held]
    by_state: dict[str, list[uuid.UUID]] = {}
    for item in items:
        by_state.setdefault(item.state, []).append(item.youth_id)
    async with database.acquire() as conn, conn.transaction():
        for state, shown_ids in by_state.items():
            access = access_log.Access(
                reader.tenant, reader.actor, why, f"names ({state})", "register"
            )
            await access_log.record(conn, access, shown_ids)
    return Names(items, [y for y in asked if y not in held])
