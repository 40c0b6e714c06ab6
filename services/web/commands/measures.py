"""The measures' (insatser) use cases: the youth's measures with the steps each allows, the
catalogue to offer from, objections; an offer, a step, an end, an objection.

Each step goes to the measures service, which decides the lifecycle; a refusal comes back as
`Refused` and `step_refusal` says it next to the form's fields, with the measure named.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.domain import measures
from services.web.domain.measures import Action, ActionShown
from shared.codelists import code_list

DAY_FIELDS = ("on", "offered_on", "accepted_on", "declined_on", "started_on", "ended_on")

OFFER_LABELS = {
    "measure_type": "Insats",
    "offered_on": "Datum då insatsen erbjöds",
    "can_start_on": "Datum då insatsen kan börja",
    "content": "Vad insatsen innehåller",
}
STEP_LABELS = {
    "on": "Datum för steget",
    "end_reason": "Skäl till att insatsen avslutades",
    "occupation_after": "Sysselsättning efter insatsen",
}
OBJECTION_LABELS = {"on": "Datum för invändningen"}


def measure_types() -> dict[str, str]:
    return dict(code_list("measure-type").codes)


def end_reasons(on: date) -> dict[str, str]:
    return dict(code_list("measure-end-reason", on=on).codes)


def occupations() -> dict[str, str]:
    return dict(code_list("occupation").codes)


@dataclass(frozen=True)
class MeasureShown:
    measure_id: str
    type_label: str
    state: str | None
    state_label: str
    days: list[tuple[str, str]]
    content: str | None
    can_start_on: str | None
    end_reason: str | None
    occupation_after: str | None
    actions: tuple[ActionShown, ...]
    measure_type: str | None


@dataclass(frozen=True)
class MeasuresPage:
    today: date
    measures: list[MeasureShown]
    catalogue: dict[str, str]  # code → Swedish name, what may be offered
    objections: list[dict[str, Any]]
    end_reasons: dict[str, str] = field(default_factory=dict)
    occupations: dict[str, str] = field(default_factory=dict)


def shown(measure: dict[str, Any], names: dict[str, str], day: date) -> MeasureShown:
    state = measure.get("state")
    code = measure.get("measure_type")
    reason = measure.get("end_reason")
    after = measure.get("occupation_after")
    return MeasureShown(
        measure_id=str(measure["measure_id"]),
        type_label=names.get(code, code) if code else "Insats",
        state=state,
        state_label=measures.state_label(state),
        days=measures.days_of(measure),
        content=measure.get("content"),
        can_start_on=measure.get("can_start_on"),
        end_reason=end_reasons(day).get(reason, reason) if reason else None,
        occupation_after=occupations().get(after, after) if after else None,
        actions=measures.actions(state),
        measure_type=code,
    )


async def measures_page(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, day: date
) -> MeasuresPage:
    """The youth's measures (newest first), the catalogue and the objections."""
    found, catalogue = await asyncio.gather(
        api.call("measures", "GET", f"/v1/youths/{youth_id}/measures", user.token, user.tenant),
        api.call("measures", "GET", "/v1/catalogue", user.token, user.tenant),
    )
    offered = {e["code"]: e["name"] for e in catalogue["entries"]}
    names = {**measure_types(), **offered}
    return MeasuresPage(
        today=day,
        measures=[shown(m, names, day) for m in reversed(found["measures"])],
        catalogue=offered,
        objections=[
            o
            for o in found.get("objection_entries") or []
            if not o.get("withdrawn") and not o.get("corrected")
        ],
        end_reasons=end_reasons(day),
        occupations=occupations(),
    )


def _or_none(value: str) -> str | None:
    return value.strip() or None


async def offer(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, given: dict[str, str]
) -> None:
    """Offer a measure from the catalogue; `given["measure_id"]`, made when the form was shown,
    records a repeated submission once. A declined measure's id offers it again."""
    body: dict[str, Any] = {
        "measure_type": given.get("measure_type", ""),
        "offered_on": given.get("offered_on", "").strip(),
        "measure_id": given.get("measure_id") or str(uuid.uuid4()),
    }
    for name in ("can_start_on", "content"):
        if value := _or_none(given.get(name, "")):
            body[name] = value
    await api.call("measures", "POST", f"/v1/youths/{youth_id}/measure-offers", user.token,
                   user.tenant, body=body)  # fmt: skip


async def take_step(
    api: ServicesApi,
    user: Session,
    youth_id: uuid.UUID,
    measure_id: uuid.UUID,
    action: Action,
    given: dict[str, str],
) -> None:
    """Take a step on the measure: accept, decline, start, end (with the reason and the
    occupation after), or offer a declined one again (of its type)."""
    if action is Action.REOFFER:
        await offer(api, user, youth_id, {**given, "offered_on": given.get("on", ""),
                                          "measure_id": str(measure_id)})  # fmt: skip
        return
    body: dict[str, Any] = {"on": given.get("on", "").strip()}
    if action is Action.END:
        body["end_reason"] = given.get("end_reason", "")
        if after := _or_none(given.get("occupation_after", "")):
            body["occupation_after"] = after
    path = measures.ACTIONS[action].service_path
    await api.call("measures", "POST", f"/v1/youths/{youth_id}/measures/{measure_id}/{path}",
                   user.token, user.tenant, body=body)  # fmt: skip


async def record_objection(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, given: dict[str, str]
) -> None:
    """The youth objects to being in the register (recorded; the youth stays in it)."""
    body: dict[str, Any] = {"on": given.get("on", "").strip()}
    if objection := _or_none(given.get("objection_id", "")):
        body["objection_id"] = objection
    await api.call("measures", "POST", f"/v1/youths/{youth_id}/objections", user.token,
                   user.tenant, body=body)  # fmt: skip


def _day_fields(errors: list[dict[str, str]], to: str) -> list[dict[str, str]]:
    """A step's own day (`declined_on`, `body.on` …) is the form's one date field `to`."""
    return [
        {
            **e,
            "field": to if e.get("field", "").split(".")[-1] in DAY_FIELDS else e.get("field", ""),
        }
        for e in errors
    ]


def step_refusal(refused: Refused, prefix: str, labels: dict[str, str], day: str) -> dict[str, str]:
    """A refusal of a form on the measures page, by element id: each field's message under
    `<prefix>-<field>`, and what concerns the measure as a whole (a 409 of the lifecycle) under
    `prefix` itself (the measure's heading, which the error summary links to)."""
    first = refused.errors[0] if refused.errors else {}
    whole = measures.refusal_said(refused.status, str(first.get("problem", refused.detail)))
    if whole is not None:
        return {prefix: whole}
    said = measures.said_errors(_day_fields(refused.errors, day), labels, refused.detail)
    return {(prefix if name == "_form" else f"{prefix}-{name}"): m for name, m in said.items()}
