"""The municipality's rules and the measure catalogue, for its coordinator: the time rules as
outreach and measures keep them (`GET/PUT /v1/tenant-rules` on each), the catalogue (measures'
`GET /v1/catalogue`, `PUT /v1/catalogue/{code}`, `DELETE /v1/catalogue/{code}?shared=`), and every
change of either as the services' stored events tell it (`GET /v1/tenant-rules/history`,
`GET /v1/catalogue/history`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.web.adapters.services_api import Refused, Service, ServicesApi
from services.web.adapters.sessions import Session
from services.web.commands.youth import FormRefused, refusal
from services.web.domain.coordination import (
    CODE_PATTERN,
    RULES,
    SOURCES,
    ChangeShown,
    catalogue_changes,
    rule_problem,
    rules_changes,
    typed_days,
)

SERVICES: tuple[Service, ...] = ("outreach", "measures")
MEASURE_LABELS = {
    "code": "Kod",
    "name": "Namn",
    "description": "Beskrivning",
    "provider": "Anordnare",
}


@dataclass(frozen=True)
class RuleShown:
    name: str
    label: str
    hint: str
    unit: str
    value: int


@dataclass(frozen=True)
class EntryShown:
    code: str
    name: str
    description: str
    provider: str
    source: str  # standard, municipality, consortium
    source_text: str


@dataclass(frozen=True)
class RulesPage:
    rules: list[RuleShown]
    rules_history: list[ChangeShown]
    entries: list[EntryShown]
    catalogue_history: list[ChangeShown]


async def _get(api: ServicesApi, user: Session, service: Service, path: str) -> Any:
    return await api.call(service, "GET", path, user.token, user.tenant)


async def current_rules(api: ServicesApi, user: Session) -> dict[str, int]:
    """Every rule in force (both services'), by name."""
    found = await asyncio.gather(*(_get(api, user, s, "/v1/tenant-rules") for s in SERVICES))
    return {k: int(v) for answer in found for k, v in (answer.get("rules") or {}).items()}


async def rules_page(api: ServicesApi, user: Session) -> RulesPage:
    """The rules in force with their explanations, the catalogue, and both histories."""
    rules, histories, catalogue, changes = await asyncio.gather(
        current_rules(api, user),
        asyncio.gather(*(_get(api, user, s, "/v1/tenant-rules/history") for s in SERVICES)),
        _get(api, user, "measures", "/v1/catalogue"),
        _get(api, user, "measures", "/v1/catalogue/history"),
    )
    return RulesPage(
        rules=[RuleShown(name, t.label, t.hint, t.unit, rules[name])
               for name, t in RULES.items() if name in rules],
        rules_history=rules_changes([c for h in histories for c in h.get("changes") or []]),
        entries=[EntryShown(str(e["code"]), str(e.get("name") or e["code"]),
                            str(e.get("description") or ""), str(e.get("provider") or ""),
                            str(e.get("source") or "standard"),
                            SOURCES.get(str(e.get("source")), "Standard"))
                 for e in catalogue.get("entries") or []],
        catalogue_history=catalogue_changes(changes.get("changes") or []),
    )  # fmt: skip


async def save_rules(api: ServicesApi, user: Session, fields: Mapping[str, str]) -> int:
    """Set the rules whose value the form changes (each service its own); how many changed.
    A value that is no whole number, or outside the service's bounds, is `FormRefused`."""
    typed: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, text in RULES.items():
        value = typed_days(fields.get(name, ""))
        if value is None:
            errors[f"regler-{name}"] = f"{text.label} måste vara ett helt antal {text.unit}."
        else:
            typed[name] = value
    if errors:
        raise FormRefused(errors)
    now = await current_rules(api, user)
    changed = {name: v for name, v in typed.items() if now.get(name) != v}
    for service in SERVICES:
        mine = {n: v for n, v in changed.items() if RULES[n].service == service}
        if not mine:
            continue
        try:
            await api.call(service, "PUT", "/v1/tenant-rules", user.token, user.tenant,
                           body={"rules": mine})  # fmt: skip
        except Refused as refused:
            if refused.status != 422:
                raise
            raise FormRefused({
                f"regler-{e.get('field')}": f"{RULES[str(e.get('field'))].label} "
                                            f"{rule_problem(str(e.get('problem', '')))}"
                for e in refused.errors if str(e.get("field")) in RULES
            } or {"regler": "Reglerna kunde inte sparas."}) from None  # fmt: skip
    return len(changed)


async def define_measure(api: ServicesApi, user: Session, fields: Mapping[str, str]) -> str:
    """Add or change an own measure (the municipality's, or shared in the consortium); its name."""
    code = fields.get("code", "").strip()
    name = fields.get("name", "").strip()
    errors: dict[str, str] = {}
    if not CODE_PATTERN.match(code):
        errors["insats-code"] = ("Koden ska vara 1–64 tecken: små bokstäver a–z, siffror och "
                                 "understreck, till exempel egen_praktik.")  # fmt: skip
    if not name:
        errors["insats-name"] = "Fyll i insatsens namn."
    elif len(name) > 200:
        errors["insats-name"] = "Namnet får vara högst 200 tecken."
    description = fields.get("description", "").strip()
    provider = fields.get("provider", "").strip()
    if len(description) > 1000:
        errors["insats-description"] = "Beskrivningen får vara högst 1000 tecken."
    if len(provider) > 200:
        errors["insats-provider"] = "Anordnaren får vara högst 200 tecken."
    if errors:
        raise FormRefused(errors)
    body = {"name": name, "description": description or None, "provider": provider or None,
            "shared": fields.get("shared") == "ja"}  # fmt: skip
    try:
        await api.call("measures", "PUT", f"/v1/catalogue/{code}", user.token, user.tenant,
                       body=body)  # fmt: skip
    except Refused as refused:
        raise refusal(refused, "insats", MEASURE_LABELS) from None
    return name


async def retire_measure(api: ServicesApi, user: Session, fields: Mapping[str, str]) -> None:
    """Take an own (or shared) measure out of the catalogue: no new offers of it."""
    code = fields.get("code", "")
    if not CODE_PATTERN.match(code):
        raise FormRefused({"katalog": "Insatsen finns inte i katalogen."})
    shared = "true" if fields.get("shared") == "ja" else "false"
    try:
        await api.call("measures", "DELETE", f"/v1/catalogue/{code}", user.token, user.tenant,
                       params={"shared": shared})  # fmt: skip
    except Refused as refused:
        if refused.status not in (404, 409, 422):
            raise
        raise FormRefused(
            {"katalog": "Insatsen kunde inte tas bort: bara kommunens egna och konsortiets "
                        "delade insatser kan tas bort, och bara en gång."}, refused.status,
        ) from None  # fmt: skip
