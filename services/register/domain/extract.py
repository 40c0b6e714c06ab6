"""The youth's own extract (GDPR art. 15): everything the municipality holds about one youth, put
together for the youth to read (pure; the words are `extract_wording.py`'s).

`assemble` makes the extract as JSON-ready data: each code beside its words (`<field>_text`),
dates as ISO strings, the caseworkers' sealed words opened. `document` turns that data into the
Swedish document the PDF shows, section by section, so the PDF holds each fact the JSON holds.
A protected identity's address is never in either ("skyddad adress"); a purged youth's extract is
the skeleton retention left, stated as such; the access log is shown by role and organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.register.domain import extract_values as values
from services.register.domain import extract_wording as words

PROTECTED_ADDRESS = "skyddad adress"
TITLE = "Utdrag ur registret över ungdomar i kommunens aktivitetsansvar"
Data = dict[str, Any]


@dataclass(frozen=True)
class ShownIdentity:
    """Who the youth is, as the register holds it (`state` as `adapters/identity.py` says)."""

    state: str
    personnummer: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    protected: bool = False
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Held:
    """What the register holds about the youth: the identity, the timeline with the sealed words
    opened (`readmodel.youth_timeline` + `open_free_text`) and the access log entries about them."""

    tenant: str
    youth_id: uuid.UUID
    identity: ShownIdentity
    timeline: Mapping[str, Any]
    access: Sequence[Mapping[str, Any]] = field(default_factory=list)
    archived: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The corrected and correcting events as the register's archive keeps them (by event id)."""


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def identity(shown: ShownIdentity) -> Data:
    """The identity as the youth may see it: never a protected identity's address."""
    data: Data = {
        "state": shown.state,
        "personnummer": shown.personnummer,
        "given_name": shown.given_name,
        "family_name": shown.family_name,
        "protected": shown.protected,
        "address": None,
        "email": shown.email,
        "phone": shown.phone,
    }
    if shown.protected:
        data["address_text"] = PROTECTED_ADDRESS
    elif shown.state == "open" and any((shown.street, shown.postal_code, shown.city)):
        data["address"] = {"street": shown.street, "postal_code": shown.postal_code,
                           "city": shown.city}  # fmt: skip
    return data


def episode(row: Mapping[str, Any]) -> Data:
    facts: Mapping[str, str] = row.get("entered_facts") or {}
    explained = []
    for key, template in words.ENTRY_FACTS.items():
        if key in facts:
            value = str(facts[key]).split(" (")[0]
            if key == "compulsory_school_ends":
                value = words.swedish_date(date.fromisoformat(value))
            explained.append(template.format("ingen" if value == "none" else value))
    left_reason = row.get("left_reason")
    in_error = left_reason == "registered_in_error"
    why = row.get("in_error_reason") if in_error else None
    return {
        "entered_on": _iso(row["entered_on"]),
        "scope_ends_on": _iso(row["scope_ends_on"]),
        "entered_text": words.ENTRY_REASON,
        "entered_facts_text": explained,
        "left_on": _iso(row.get("left_on")),
        "left_reason": left_reason,
        "left_reason_text": words.label(words.LEAVING_REASONS, left_reason) or None,
        "registered_in_error": in_error,
        # Who marked it in error (by role), when and why: as for the corrections.
        "in_error_role_text": words.actor_role(str(row.get("in_error_actor") or ""))
        if in_error and row.get("in_error_actor")
        else None,
        "in_error_recorded_at": _iso(row.get("in_error_recorded_at")) if in_error else None,
        "in_error_reason": why,
        "in_error_reason_text": words.label(words.CORRECTION_REASONS, why) or None,
        "in_error_note": row.get("in_error_note") if in_error else None,
    }


def attempt(row: Mapping[str, Any]) -> Data:
    return {"attempted_at": _iso(row["attempted_at"]),
            "channel": row["channel"], "channel_text": words.label(words.CHANNELS, row["channel"]),
            "outcome": row["outcome"],
            "outcome_text": words.label(words.OUTCOMES, row["outcome"])}  # fmt: skip


def contact(row: Mapping[str, Any]) -> Data:
    return {"at": _iso(row["at"]),
            "kind": row["kind"], "kind_text": words.label(words.CONTACT_KINDS, row["kind"]),
            "channel": row["channel"],
            "channel_text": words.label(words.CHANNELS, row["channel"])}  # fmt: skip


def occupation(row: Mapping[str, Any]) -> Data:
    category, version = row["category"], row.get("code_list_version")
    return {"category": category,
            "category_text": words.code_label("occupation", category, version),
            "tense": row["tense"], "tense_text": words.label(words.TENSES, row["tense"]),
            "from_date": _iso(row["from_date"]), "to_date": _iso(row.get("to_date")),
            "confirmed_on": _iso(row["confirmed_on"])}  # fmt: skip


def plan(row: Mapping[str, Any]) -> Data:
    mapping = row.get("mapping") or {}
    efforts = [
        {"description": e.get("description"),
         "responsible": e.get("responsible"),
         "responsible_text": words.label(words.RESPONSIBLE, e.get("responsible")),
         "other_actor": e.get("other_actor"),
         "start_date": _iso(_day(e.get("start_date"))), "end_date": _iso(_day(e.get("end_date"))),
         "end_reason": e.get("end_reason")}
        for e in row.get("efforts") or []
    ]  # fmt: skip
    return {
        "revision": row["revision"],
        "valid_from": _iso(row["valid_from"]),
        "goal": row.get("goal"),
        "goals": list(mapping.get("goals") or []),
        "needs": list(mapping.get("needs") or []),
        "expectations": list(mapping.get("expectations") or []),
        "interests": list(mapping.get("interests") or []),
        "efforts": efforts,
        "follow_up_on": _iso(row.get("follow_up_on")),
        "evaluation_on": _iso(row.get("evaluation_on")),
        "text": row.get("text"),
    }


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def measures(
    status: Sequence[Mapping[str, Any]], offers: Sequence[Mapping[str, Any]]
) -> list[Data]:
    """Each measure as it stands, with its content as the caseworker wrote it (latest offer)."""
    latest: dict[Any, Mapping[str, Any]] = {o["measure_id"]: o for o in offers}
    shown = []
    for row in status:
        offer = latest.get(row["measure_id"], {})
        kind, reason = row.get("measure_type") or offer.get("measure_type"), row.get("end_reason")
        shown.append({
            "measure_type": kind, "measure_type_text": words.code_label("measure-type", kind),
            "content": offer.get("content"), "can_start_on": _iso(offer.get("can_start_on")),
            "state": row["state"], "state_text": words.label(words.MEASURE_STATES, row["state"]),
            "offered_on": _iso(row.get("offered_on")), "accepted_on": _iso(row.get("accepted_on")),
            "declined_on": _iso(row.get("declined_on")), "started_on": _iso(row.get("started_on")),
            "ended_on": _iso(row.get("ended_on")), "end_reason": reason,
            "end_reason_text": words.code_label("measure-end-reason", reason) or None,
        })  # fmt: skip
    return shown


def correction(row: Mapping[str, Any], archived: Mapping[str, Mapping[str, Any]]) -> Data:
    """A correction or withdrawal: what, who (by role), when and why, and the values recorded
    before beside those recorded in their place (`extract_values.py`)."""
    target, kind, reason = row["target_event_type"], row["kind"], row["reason"]
    before = archived.get(str(row["target_event_id"]))
    after = archived.get(str(row["event_id"])) if kind == "corrected" else None
    kept = before is None or values.has_sealed(before) or values.has_sealed(after)
    return {"kind": kind, "kind_text": words.label(words.CORRECTION_KINDS, kind),
            "target_event_type": target,
            "target_event_type_text": words.label(words.ENTRIES, target),
            "reason": reason, "reason_text": words.label(words.CORRECTION_REASONS, reason),
            "role_text": words.actor_role(str(row.get("actor") or "")),
            "note": row.get("note"), "recorded_at": _iso(row["recorded_at"]),
            "earlier_values": values.entry_values(before),
            "new_values": values.entry_values(after) if kind == "corrected" else None,
            "earlier_values_text": (values.ON_REQUEST if before is None
                                    else values.SEALED_ON_REQUEST if kept else None)}  # fmt: skip


def access_entry(row: Mapping[str, Any], tenant: str) -> Data:
    purpose, service = row["purpose"], row["service"]
    return {"at": _iso(row["at"]), "role_text": words.actor_role(row["actor"]),
            "organisation_text": f"kommunen (kommunkod {tenant})",
            "service": service, "service_text": words.label(words.SERVICES, service),
            "purpose": purpose, "purpose_text": words.label(words.PURPOSES, purpose)}  # fmt: skip


def assemble(held: Held, retention_days: int, produced_at: datetime) -> Data:
    """The extract as data (JSON-ready): everything held about the youth, in the youth's words."""
    timeline = held.timeline
    purged_at = timeline.get("purged_at")
    episodes = [episode(row) for row in timeline.get("scope_episodes") or []]
    kept = [e for e in episodes if not e["registered_in_error"]]
    last_left = max((date.fromisoformat(e["left_on"]) for e in kept if e["left_on"]), default=None)
    in_scope = timeline.get("status") == "in_scope"
    assignment = timeline.get("assignment")
    return {
        "title": TITLE,
        "youth_id": str(held.youth_id),
        "tenant": held.tenant,
        "produced_at": _iso(produced_at),
        "personal_data": "purged" if purged_at else "held",
        "purged_at": _iso(purged_at),
        "purged_text": (
            f"Personuppgifterna är gallrade (raderade) sedan {words.swedish_instant(purged_at)}"
            ". Det som finns kvar är datum, koder och vilka steg som togs, utan uppgifter som "
            "pekar ut dig."
        )
        if purged_at
        else None,
        "identity": identity(held.identity),
        "scope_episodes": episodes,
        "contact_attempts": [attempt(r) for r in timeline.get("contacts") or []],
        "contacts": [contact(r) for r in timeline.get("contact_log") or []],
        "occupations": [occupation(r) for r in timeline.get("occupations") or []],
        "plans": [plan(r) for r in timeline.get("plan_revisions") or []],
        "measures": measures(timeline.get("measure_status") or [], timeline.get("measures") or []),
        "objections": [
            {"objected_on": _iso(r["objected_on"])} for r in timeline.get("objections") or []
        ],
        "assignment": {
            "assignee": assignment["assignee"],
            "assigned_at": _iso(assignment["assigned_at"]),
        }
        if assignment
        else None,
        "corrections": [correction(r, held.archived) for r in timeline.get("corrections") or []],
        "access_log": [access_entry(r, held.tenant) for r in held.access],
        "retention": {
            "days": retention_days,
            "rule_text": words.retention_rule(retention_days, last_left, in_scope or not kept),
        },
    }
