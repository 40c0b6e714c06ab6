"""The individual plan's use cases: the plan in force and every revision, and a new revision from
the editor's form (DOMAIN.md section 3: the seven things the documentation holds).

The editor's form is kept as the user typed it (`PlanForm`, strings only) so that a refusal shows
it again unchanged; `plan_body` makes the measures service's request of it, and `plan_refusal` says
the service's refusal next to the form's own fields.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.web.adapters.services_api import Refused, ServicesApi
from services.web.adapters.sessions import Session
from services.web.domain.measures import said_errors

MAPPING = ("goals", "needs", "expectations", "interests")
EFFORT_FIELDS = (
    "effort_id", "description", "responsible", "other_actor", "start_date", "end_date",
    "end_reason",
)  # fmt: skip
BLANK_EFFORTS = 2  # empty rows the editor offers for new efforts

RESPONSIBLE: dict[str, str] = {
    "youth": "Ungdomen",
    "municipality": "Kommunen",
    "other_actor": "Annan aktör",
}

LABELS: dict[str, str] = {
    "valid_from": "Gäller från",
    "goal": "Målet med insatserna",
    "goals": "Ungdomens mål",
    "needs": "Behov",
    "expectations": "Förväntningar",
    "interests": "Intressen",
    "follow_up_on": "Datum för uppföljning",
    "evaluation_on": "Datum för utvärdering",
}
EFFORT_LABELS: dict[str, str] = {
    "description": "beskrivning",
    "responsible": "vem som ansvarar",
    "other_actor": "annan aktör",
    "start_date": "startdatum",
    "end_date": "slutdatum",
    "end_reason": "skäl till att insatsen avslutades",
}

CATEGORIES: dict[str, str] = {
    "health": "hälsa",
    "ethnicity": "etniskt ursprung",
    "religion": "religion",
    "sexuality": "sexuell läggning",
    "politics": "politiska åsikter",
    "crime": "brott",
}
WARNING = re.compile(r"^(?P<field>[^:]+): may contain sensitive personal data \((?P<what>[^)]*)\)")
EFFORT_PATH = re.compile(r"efforts(?:\[|\.)(?P<n>\d+)\]?\.(?P<field>\w+)")
MAPPING_PATH = re.compile(r"mapping\.(?P<part>[a-z]+)")


def today(fixed_today: date | None = None) -> date:
    """The casework day: the deployment's fixed day (`ServiceSettings.today`, demos and tests) or
    Stockholm's."""
    return fixed_today or datetime.now(ZoneInfo("Europe/Stockholm")).date()


@dataclass
class PlanForm:
    """The editor's fields as typed; `efforts` one dict per row (`EFFORT_FIELDS`)."""

    valid_from: str = ""
    goal: str = ""
    goals: str = ""
    needs: str = ""
    expectations: str = ""
    interests: str = ""
    follow_up_on: str = ""
    evaluation_on: str = ""
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    efforts: list[dict[str, str]] = field(default_factory=list)

    def with_blank_rows(self) -> PlanForm:
        blank = dict.fromkeys(EFFORT_FIELDS, "") | {"responsible": "municipality"}
        self.efforts = [*self.efforts, *(dict(blank) for _ in range(BLANK_EFFORTS))]
        return self


def effort_id(row: int, name: str) -> str:
    """The form field (and element id) of an effort row's field: `insats-0-description`."""
    return f"insats-{row}-{name}"


def form_of(fields: Mapping[str, str]) -> PlanForm:
    """The editor's form as posted (`insats-N-<field>` for the efforts' rows)."""
    form = PlanForm()
    for name in (*LABELS, "revision_id"):
        setattr(form, name, str(fields.get(name, "")))
    form.revision_id = form.revision_id or str(uuid.uuid4())
    rows = sorted({int(m.group(1)) for k in fields if (m := re.match(r"insats-(\d+)-", k))})
    form.efforts = [
        {name: str(fields.get(effort_id(n, name), "")) for name in EFFORT_FIELDS} for n in rows
    ]
    return form


def form_from_plan(plan: Mapping[str, Any] | None, day: date) -> PlanForm:
    """The editor filled with the revision in force (a new plan: valid from `day`), plus blank
    rows for new efforts."""
    if plan is None:
        return PlanForm(valid_from=day.isoformat()).with_blank_rows()
    mapping = plan.get("mapping") or {}
    form = PlanForm(
        valid_from=day.isoformat(),
        goal=plan.get("goal") or "",
        follow_up_on=plan.get("follow_up_on") or "",
        evaluation_on=plan.get("evaluation_on") or "",
    )
    for part in MAPPING:
        setattr(form, part, "\n".join(mapping.get(part) or []))
    form.efforts = [
        {name: "" if e.get(name) is None else str(e[name]) for name in EFFORT_FIELDS}
        for e in plan.get("efforts") or []
    ]
    return form.with_blank_rows()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _or_none(value: str) -> str | None:
    return value.strip() or None


def plan_body(form: PlanForm) -> tuple[dict[str, Any], list[int]]:
    """The measures service's request for the form, and for each effort sent the form's row it
    came from (rows left blank are not sent)."""
    efforts, rows = [], []
    for n, row in enumerate(form.efforts):
        if not any(row.get(k, "").strip() for k in EFFORT_FIELDS if k != "responsible"):
            continue
        effort: dict[str, Any] = {"description": row.get("description", "").strip(),
                                  "responsible": row.get("responsible", "")}  # fmt: skip
        for name in ("effort_id", "other_actor", "start_date", "end_date", "end_reason"):
            if value := _or_none(row.get(name, "")):
                effort[name] = value
        efforts.append(effort)
        rows.append(n)
    body: dict[str, Any] = {
        "goal": form.goal.strip(),
        "mapping": {part: _lines(getattr(form, part)) for part in MAPPING},
        "efforts": efforts,
        "revision_id": form.revision_id,
    }
    for name in ("valid_from", "follow_up_on", "evaluation_on"):
        if value := _or_none(getattr(form, name)):
            body[name] = value
    return body, rows


def form_field(service_field: str, rows: list[int]) -> str:
    """The form field a service's field path names (`efforts[1].end_date` or
    `body.efforts.1.end_date` → the row's `insats-N-end_date`; `body.mapping.goals.0` → `goals`)."""
    if found := EFFORT_PATH.search(service_field):
        n = int(found.group("n"))
        return effort_id(rows[n] if n < len(rows) else n, found.group("field"))
    if found := MAPPING_PATH.search(service_field):
        return found.group("part")
    return service_field


def labels_of(form: PlanForm) -> dict[str, str]:
    """Every field of the form with its Swedish label (an effort's: "Insats 2: startdatum")."""
    labels = dict(LABELS)
    for n in range(len(form.efforts)):
        for name, label in EFFORT_LABELS.items():
            labels[effort_id(n, name)] = f"Insats {n + 1}: {label}"
    return labels


def plan_refusal(refused: Refused, form: PlanForm) -> dict[str, str]:
    """The service's refusal said next to the form's fields (and `_form` for the rest)."""
    _, rows = plan_body(form)
    errors = [{**e, "field": form_field(str(e.get("field", "")), rows)} for e in refused.errors]
    return said_errors(errors, labels_of(form), refused.detail)


def warnings_said(warnings: list[str], form: PlanForm, rows: list[int]) -> list[str]:
    """The service's warnings about sensitive personal data, in Swedish, naming the field."""
    labels, said = labels_of(form), []
    for warning in warnings:
        found = WARNING.match(warning)
        if found is None:
            said.append("En text kan innehålla känsliga personuppgifter.")
            continue
        name = form_field(found.group("field"), rows)
        what = ", ".join(CATEGORIES.get(c.strip(), c.strip()) for c in found["what"].split(","))
        said.append(
            f"{labels.get(name, 'En text')} kan innehålla känsliga personuppgifter ({what}). "
            "Dokumentationen inom aktivitetsansvaret får inte innehålla sådana uppgifter."
        )
    return said


@dataclass(frozen=True)
class PlanPage:
    today: date
    plan: dict[str, Any] | None
    revisions: list[dict[str, Any]]


async def plan_page(api: ServicesApi, user: Session, youth_id: uuid.UUID) -> PlanPage:
    """The plan in force today and every revision, newest first."""
    path = f"/v1/youths/{youth_id}/plan"
    shown, revisions = await asyncio.gather(
        api.call("measures", "GET", path, user.token, user.tenant),
        api.call("measures", "GET", f"{path}/revisions", user.token, user.tenant),
    )
    return PlanPage(
        today=date.fromisoformat(shown["as_of"]),
        plan=shown["plan"],
        revisions=list(reversed(revisions["revisions"])),
    )


async def revise_plan(
    api: ServicesApi, user: Session, youth_id: uuid.UUID, form: PlanForm
) -> list[str]:
    """Record the form as the plan's new revision: the warnings in Swedish (empty: none), or
    `Refused` (said with `plan_refusal`)."""
    body, rows = plan_body(form)
    answer = await api.call("measures", "PUT", f"/v1/youths/{youth_id}/plan", user.token,
                            user.tenant, body=body)  # fmt: skip
    return warnings_said(list(answer.get("warnings") or []), form, rows)
