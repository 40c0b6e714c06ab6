"""The contact work on a youth's case: the contact log (attempts, contacts, information given,
with who and when, what was corrected or withdrawn), occupations, and recording each.

A time is typed in Stockholm's time (`2026-03-02 14:30`) and sent with its offset; one the page
cannot read is refused here, one the service finds implausible (in the future, before the youth
was born) by the service, both as `FormRefused` next to the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.commands import youth_case
from services.web.commands.youth import FormRefused, occupations, refusal
from services.web.domain import swedish
from services.web.domain.youth import (
    STOCKHOLM,
    TENSES,
    EntryShown,
    entry_shown,
    typed_day,
    typed_instant,
    who,
)

ATTEMPT_LABELS = {"channel": "Kanal", "outcome": "Utfall", "attempted_at": "Tidpunkt"}
CONTACT_LABELS = {"channel": "Kanal", "at": "Tidpunkt"}
OCCUPATION_LABELS = {
    "category": "Sysselsättning",
    "tense": "Tid",
    "from_date": "Från och med",
    "to_date": "Till och med",
}
TIME_PROBLEM = "måste vara en tidpunkt, till exempel 2026-03-02 14:30"
DAY_PROBLEM = "måste vara ett datum, till exempel 2026-03-02"


def now_typed(fixed_today: date | None = None) -> str:
    """Now as the forms show it by default: the casework day (the deployment's fixed day in demos
    and tests, `ServiceSettings.today`) at Stockholm's time of day."""
    at = datetime.now(STOCKHOLM)
    return f"{(fixed_today or at.date()).isoformat()} {at:%H:%M}"


@dataclass(frozen=True)
class OccupationShown:
    category: str
    tense: str
    from_date: str
    to_date: str
    confirmed_on: str
    actor: str


@dataclass(frozen=True)
class ContactsPage:
    case: dict[str, Any]
    entries: list[EntryShown]
    occupations: list[OccupationShown]
    codes: dict[str, str] = field(default_factory=dict)
    now: str = ""


def occupation_shown(
    raw: Mapping[str, Any], codes: Mapping[str, str], actor: str | None = None
) -> OccupationShown:
    """An occupation as the table shows it; `actor`: who recorded it (the case's entries say)."""
    return OccupationShown(
        category=codes.get(str(raw.get("category")), str(raw.get("category"))),
        tense=swedish.label(TENSES, raw.get("tense")),
        from_date=swedish.swedish_iso_date(raw.get("from_date")),
        to_date=swedish.swedish_iso_date(raw.get("to_date")),
        confirmed_on=swedish.swedish_iso_date(raw.get("confirmed_on")),
        actor=who(actor or raw.get("actor")),
    )


CONTACT_LOG = ("ContactAttempted", "ContactEstablished", "YouthInformed")


async def contacts_page(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fixed_today: date | None = None
) -> ContactsPage:
    case = await youth_case(api, user, youth_id)
    codes = occupations()
    log = [e for e in case.get("entries") or [] if e.get("event_type") in CONTACT_LOG]
    recorded_by = {  # the latest entry of each occupation: who recorded (or corrected) it
        str((e.get("values") or {}).get("occupation_id")): e.get("actor")
        for e in case.get("entries") or []
        if e.get("event_type") == "OccupationRecorded"
    }
    return ContactsPage(
        case=case,
        entries=[entry_shown(e) for e in reversed(log)],  # newest first
        occupations=[
            occupation_shown(o, codes, recorded_by.get(str(o.get("occupation_id"))))
            for o in case.get("occupations") or []
        ],
        codes=codes,
        now=now_typed(fixed_today),
    )


def _client_id(fields: Mapping[str, str], name: str) -> dict[str, str]:
    """The form's client-chosen id (a second click records once), if it is a UUID."""
    try:
        return {name: str(uuid.UUID(fields.get(name, "")))}
    except ValueError:
        return {}


def _chosen(fields: Mapping[str, str], prefix: str, name: str, codes: Mapping[str, str],
            said: str, errors: dict[str, str]) -> str:  # fmt: skip
    value = fields.get(name, "")
    if value not in codes:
        errors[f"{prefix}-{name}"] = said
    return value


def _instant(fields: Mapping[str, str], prefix: str, name: str, label: str,
             errors: dict[str, str]) -> str:  # fmt: skip
    at = typed_instant(fields.get(name, ""))
    if at is None:
        errors[f"{prefix}-{name}"] = f"{label} {TIME_PROBLEM}"
        return ""
    return at.isoformat()


async def _post(api: ServicesApi, user: Session, path: str, body: dict[str, Any], prefix: str,
                labels: Mapping[str, str]) -> None:  # fmt: skip
    try:
        await api.call("outreach", "POST", path, user.token, user.tenant, body=body)
    except Refused as refused:
        raise refusal(refused, prefix, labels) from None


async def record_attempt(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fields: Mapping[str, str]
) -> None:
    """A contact attempt (kontaktförsök): channel, outcome, when."""
    errors: dict[str, str] = {}
    channel = _chosen(fields, "forsok", "channel", swedish.CHANNELS, "Välj kanal.", errors)
    outcome = _chosen(fields, "forsok", "outcome", swedish.OUTCOMES, "Välj utfall.", errors)
    at = _instant(fields, "forsok", "attempted_at", "Tidpunkt", errors)
    if errors:
        raise FormRefused(errors)
    body = {"channel": channel, "outcome": outcome, "attempted_at": at,
            **_client_id(fields, "contact_attempt_id")}  # fmt: skip
    await _post(api, user, f"/v1/youths/{youth_id}/contact-attempts", body, "forsok",
                ATTEMPT_LABELS)  # fmt: skip


async def record_contact(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fields: Mapping[str, str], kind: str
) -> None:
    """A contact established (`kind` "kontakt") or information given ("information")."""
    errors: dict[str, str] = {}
    channel = _chosen(fields, kind, "channel", swedish.CHANNELS, "Välj kanal.", errors)
    at = _instant(fields, kind, "at", "Tidpunkt", errors)
    if errors:
        raise FormRefused(errors)
    if kind == "kontakt":
        path, client = f"/v1/youths/{youth_id}/contacts", "contact_id"
    else:
        path, client = f"/v1/youths/{youth_id}/information", "information_id"
    body = {"channel": channel, "at": at, **_client_id(fields, client)}
    await _post(api, user, path, body, kind, CONTACT_LABELS)


async def record_occupation(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fields: Mapping[str, str]
) -> None:
    """An occupation from the code list, its tense, from (and to) which day."""
    errors: dict[str, str] = {}
    p = "sysselsattning"
    category = _chosen(fields, p, "category", occupations(), "Välj sysselsättning.", errors)
    tense = _chosen(fields, p, "tense", TENSES, "Välj om den är nuvarande, tidigare eller planerad.",
                    errors)  # fmt: skip
    from_date = typed_day(fields.get("from_date", ""))
    if from_date is None:
        errors[f"{p}-from_date"] = f"Från och med {DAY_PROBLEM}"
    to_text = fields.get("to_date", "").strip()
    to_date = typed_day(to_text) if to_text else None
    if to_text and to_date is None:
        errors[f"{p}-to_date"] = f"Till och med {DAY_PROBLEM}"
    if errors:
        raise FormRefused(errors)
    body: dict[str, Any] = {
        "category": category, "tense": tense, "from_date": str(from_date),
        "to_date": str(to_date) if to_date else None, **_client_id(fields, "occupation_id"),
    }  # fmt: skip
    await _post(api, user, f"/v1/youths/{youth_id}/occupations", body, p, OCCUPATION_LABELS)
