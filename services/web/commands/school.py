"""The school's reports (skollagen 15 kap. 15 §): one student from the form, or every row of a
CSV file, each sent to identify's `POST /v1/school-notifications` with the reporter's own token.

Each notification's id is a keyed hash of what it says (`domain.school.notification_id`): the same
report made again is a repeat identify records once and answers `repeat`, shown as a duplicate.
Rows are sent independently: one refused (or one identify did not answer) never stops the others.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.commands.youth import FormRefused
from services.web.domain import forms
from services.web.domain.school import (
    KINDS,
    LABELS,
    Notification,
    RowResult,
    Upload,
    UploadResult,
    checked,
    notification_id,
)

FORM = "skola"
ROLE = "school-reporter"
AT_ONCE = 4  # rows of a file sent to identify at the same time
TAKEN = "Anmälans id används redan för en annan anmälan av eleven"


@dataclass(frozen=True)
class Reported:
    """What the form's report came to: the student as the page may show them (masked), the kind
    in Swedish, and whether it was new or a repeat of one made before."""

    masked: str
    kind: str
    repeat: bool


async def send(api: ServicesApi, user: Session, key: bytes, notification: Notification) -> bool:
    """The notification sent to identify; whether it repeats one made before. `Refused` as the
    service refused it."""
    made = notification_id(key, user.tenant, notification)
    answer = await api.call("identify", "POST", "/v1/school-notifications", user.token,
                            user.tenant, body=notification.body(made))  # fmt: skip
    return bool((answer or {}).get("repeat", False))


def refused_said(refused: Refused) -> dict[str, str]:
    """Identify's 409/422 in Swedish by field (the form's fields; `_form` for any other)."""
    if refused.status == 409:
        return {forms.FORM: TAKEN}
    return forms.field_errors(refused.errors, LABELS, refused.detail)


async def report(api: ServicesApi, user: Session, key: bytes, fields: dict[str, str]) -> Reported:
    """One student reported from the form; `FormRefused` (by element id `skola-<field>`) when the
    page's own check or identify refuses it."""
    made = checked(fields)
    if not isinstance(made, Notification):
        raise FormRefused({f"{FORM}-{name}": message for name, message in made.items()})
    try:
        repeat = await send(api, user, key, made)
    except Refused as refused:
        if refused.status not in (409, 422):
            raise
        said = refused_said(refused)
        errors = {(FORM if k == forms.FORM else f"{FORM}-{k}"): v for k, v in said.items()}
        raise FormRefused(errors, refused.status) from None
    return Reported(made.masked, KINDS[made.kind], repeat)


async def upload(api: ServicesApi, user: Session, key: bytes, read: Upload) -> UploadResult:
    """Every row of a file read: refused with its problems, a duplicate of an earlier row of the
    file or of a report made before, or accepted. A 401/403 from identify (the user may not
    report at all) stops the whole file; anything else is the row's own result."""
    gate = asyncio.Semaphore(AT_ONCE)
    first_row: dict[uuid.UUID, int] = {}

    async def one(number: int, notification: Notification) -> RowResult:
        kind = KINDS[notification.kind]
        async with gate:
            try:
                repeat = await send(api, user, key, notification)
            except Refused as refused:
                if refused.status not in (409, 422):
                    raise
                messages = list(refused_said(refused).values())
                return RowResult(number, "refused", "; ".join(messages), kind)
            except Unavailable:
                return RowResult(number, "refused", "Tjänsten svarade inte: ladda upp filen igen "
                                 "(det som redan tagits emot blir inte dubbelt)", kind)  # fmt: skip
        if repeat:
            return RowResult(number, "duplicate", "Anmälan är redan gjord (samma elev, händelse, "
                             "datum, skolform och skolenhet)", kind)  # fmt: skip
        return RowResult(number, "accepted", "Anmälan är mottagen", kind)

    async def done(result: RowResult) -> RowResult:
        return result

    work = []
    for row in read.rows:
        if row.notification is None:
            work.append(done(RowResult(row.number, "refused", "; ".join(row.problems))))
            continue
        made = notification_id(key, user.tenant, row.notification)
        if made in first_row:
            said = f"Samma anmälan som rad {first_row[made]} i filen"
            work.append(done(RowResult(row.number, "duplicate", said,
                                       KINDS[row.notification.kind])))  # fmt: skip
            continue
        first_row[made] = row.number
        work.append(one(row.number, row.notification))
    return UploadResult(list(await asyncio.gather(*work)))
