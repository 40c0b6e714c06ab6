"""The youth's overview (scope episodes and why, occupation, contact details, assignment), the
identity opened on request with a purpose, and finding a youth by personnummer.

Each form's refusal — the page's own check or a service's 409/422 — comes back as `FormRefused`
with Swedish messages by element id (`<form>-<field>`; the form's own id for what names no field),
so the page shows each next to its field and in the summary, with what was typed kept.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.commands import youth_case
from services.web.domain import forms, swedish
from services.web.domain.youth import PURPOSES, facts_shown, rule_shown, who
from shared import personnummer
from shared.codelists import code_list

DETAILS_LABELS = {"email": "E-postadress", "phone": "Telefonnummer"}
ASSIGN_LABELS = {"assignee_kind": "Tilldela till", "assignee": "Handläggare eller team"}
IDENTITY_LABELS = {"purpose": "Syfte"}
SEARCH_LABELS = {"personnummer": "Personnummer", "purpose": "Syfte"}
ASSIGNEE_KINDS = {"caseworker": "En handläggare", "team": "Ett team"}


class FormRefused(Exception):
    """A form not accepted: `errors` by element id, in Swedish; `status` 409 or 422."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__("form refused")
        self.errors, self.status = errors, status


def refusal(refused: Refused, prefix: str, labels: Mapping[str, str]) -> FormRefused:
    """A service's 409/422 as the form `prefix` shows it; any other refusal goes on as it is."""
    if refused.status not in (409, 422):
        raise refused
    shown = forms.field_errors(refused.errors, labels, refused.detail)
    errors = {(prefix if k == forms.FORM else f"{prefix}-{k}"): v for k, v in shown.items()}
    return FormRefused(errors, refused.status)


@dataclass(frozen=True)
class Episode:
    entered_on: str | None
    scope_ends_on: str | None
    identified_on: str | None
    left_on: str | None
    left_reason: str | None
    entered_rule: str
    left_rule: str | None
    entered_by: str
    facts: list[tuple[str, str]]
    in_error: bool


@dataclass(frozen=True)
class Overview:
    case: dict[str, Any]
    occupation: str
    assignee: str
    episodes: list[Episode] = field(default_factory=list)
    register_missing: bool = False  # the register did not answer (or holds no timeline yet)


def occupations() -> dict[str, str]:
    return dict(code_list("occupation").codes)


def episode_shown(raw: Mapping[str, Any]) -> Episode:
    left = raw.get("left_reason")
    return Episode(
        entered_on=raw.get("entered_on"),
        scope_ends_on=raw.get("scope_ends_on"),
        identified_on=raw.get("identified_on"),
        left_on=raw.get("left_on"),
        left_reason=swedish.label(swedish.LEAVING_REASONS, left) if left else None,
        entered_rule=rule_shown(raw.get("entered_rule_version")),
        left_rule=rule_shown(raw.get("left_rule_version"))
        if raw.get("left_rule_version")
        else None,
        entered_by=who(raw.get("entered_actor")),
        facts=facts_shown(raw.get("entered_facts")),
        in_error=bool(raw.get("registered_in_error")),
    )


def assignee_shown(case: Mapping[str, Any]) -> str:
    assignee = case.get("assignee")
    if not assignee:
        return "Ingen"
    if case.get("assignee_kind") == "team":
        return f"Team {assignee}"
    return who(str(assignee))


async def overview(api: ServicesApi, user: Session, youth_id: uuid.UUID) -> Overview:
    """The case as outreach holds it, and the scope episodes as the register records them (the
    register's timeline read is in its access log with the purpose `register`)."""
    timeline_call = api.call("register", "GET", f"/v1/youths/{youth_id}", user.token, user.tenant)
    case, timeline = await asyncio.gather(
        youth_case(api, user, youth_id), timeline_call, return_exceptions=True
    )
    if isinstance(case, BaseException):
        raise case
    missing = isinstance(timeline, (Refused, Unavailable))
    if isinstance(timeline, BaseException) and not missing:
        raise timeline
    raw = [] if missing or not isinstance(timeline, dict) else timeline["scope_episodes"]
    occupation = str(case.get("occupation") or "unknown")
    return Overview(
        case=case,
        occupation="Okänd" if occupation == "unknown" else swedish.label(occupations(), occupation),
        assignee=assignee_shown(case),
        episodes=[episode_shown(e) for e in raw],
        register_missing=missing,
    )


@dataclass(frozen=True)
class Identity:
    state: str  # open, protected (without the grant), missing, redacted, tampered
    personnummer: str | None = None
    name: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    protected: bool = False


async def identity(api: ServicesApi, user: Session, youth_id: uuid.UUID, purpose: str) -> Identity:
    """Who the youth is, opened for `purpose` (the register logs the read); a protected identity
    as the register answers it: refused without the grant, shown without an address with it."""
    if purpose not in PURPOSES:
        raise FormRefused({"identitet-purpose": "Välj varför du behöver se identiteten."})
    try:
        found = await api.call("register", "GET", f"/v1/youths/{youth_id}/identity", user.token,
                               user.tenant, params={"purpose": purpose})  # fmt: skip
    except Refused as refused:
        if refused.status == 403 and "protect" in refused.detail.lower():
            return Identity("protected", protected=True)
        raise
    address = found.get("address") or {}
    street = ", ".join(
        part
        for part in (address.get("street"), address.get("postal_code"), address.get("city"))
        if part
    )
    name = f"{found.get('given_name') or ''} {found.get('family_name') or ''}".strip()
    return Identity(
        state=str(found.get("state")),
        personnummer=found.get("personnummer"),
        name=name or None,
        address=street or None,
        email=found.get("email"),
        phone=found.get("phone"),
        protected=bool(found.get("protected")),
    )


async def record_contact_details(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fields: Mapping[str, str]
) -> None:
    body = {k: fields.get(k, "").strip() or None for k in DETAILS_LABELS}
    if not any(body.values()):
        raise FormRefused({"kontaktuppgifter-email": "Fyll i e-postadress eller telefonnummer."})
    try:
        await api.call("outreach", "PUT", f"/v1/youths/{youth_id}/contact-details", user.token,
                       user.tenant, body=body)  # fmt: skip
    except Refused as refused:
        raise refusal(refused, "kontaktuppgifter", DETAILS_LABELS) from None


async def assign(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, fields: Mapping[str, str]
) -> None:
    """Give the case to a caseworker or a team (coordinators; the service refuses others)."""
    kind = fields.get("assignee_kind", "")
    assignee = fields.get("assignee", "").strip()
    errors = {}
    if kind not in ASSIGNEE_KINDS:
        errors["tilldelning-assignee_kind"] = (
            "Välj om ärendet ska till en handläggare eller ett team."
        )
    if not assignee:
        errors["tilldelning-assignee"] = "Fyll i handläggarens användarnamn eller teamets kod."
    if errors:
        raise FormRefused(errors)
    try:
        await api.call("outreach", "PUT", f"/v1/youths/{youth_id}/assignment", user.token,
                       user.tenant, body={"assignee_kind": kind, "assignee": assignee})  # fmt: skip
    except Refused as refused:
        raise refusal(refused, "tilldelning", ASSIGN_LABELS) from None


PNR_PROBLEMS: dict[personnummer.Problem, str] = {
    "format": "Personnummer ska skrivas med 12 siffror (ÅÅÅÅMMDD-NNNN).",
    "century": "Personnummer ska skrivas med 12 siffror, med århundradet (ÅÅÅÅMMDDNNNN).",
    "check_digit": "Personnumret stämmer inte: kontrollsiffran är fel.",
    "not_a_date": "Personnumrets födelsedatum finns inte i almanackan.",
}


def personnummer_problem(number: str) -> str | None:
    """Why `number` is no personnummer, in Swedish (never repeating it), or None."""
    if not number.strip():
        return "Fyll i personnummer."
    try:
        personnummer.normalize(number)
    except personnummer.InvalidPersonnummer as invalid:
        return PNR_PROBLEMS[invalid.code]
    return None


async def find_youth(api: ServicesApi, user: Session, number: str, purpose: str) -> uuid.UUID:
    """The youth the personnummer names in the user's municipality (the register's look-up by the
    keyed hash, logged with the purpose); `FormRefused` when it is invalid or not found."""
    errors = {}
    problem = personnummer_problem(number)
    if problem:
        errors["sok-personnummer"] = problem
    if purpose not in PURPOSES:
        errors["sok-purpose"] = "Välj varför du söker ungdomen."
    if errors:
        raise FormRefused(errors)
    try:
        found = await api.call("register", "POST", "/v1/youths/lookup", user.token, user.tenant,
                               body={"personnummer": number.strip(), "purpose": purpose})  # fmt: skip
    except Refused as refused:
        if refused.status == 404:
            raise FormRefused(
                {
                    "sok-personnummer": "Ingen ungdom med det personnumret finns i kommunens register."
                },
                404,
            ) from None
        raise refusal(refused, "sok", SEARCH_LABELS) from None
    return uuid.UUID(str(found["youth_id"]))
