"""The values of a corrected or withdrawn entry, for the youth's extract (pure).

The register keeps every event it applied, as published, in its archive (`applied_events`): so
for each correction the extract shows the values recorded before beside the values recorded in
their place, and for a withdrawal the values that were taken away, in Swedish. Words a caseworker
wrote and contact details are sealed in the archive (and shredded with the youth's data key at
retention): they are not shown here; the extract says they are kept and given out on request.
An entry whose copy the archive lacks is stated the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from services.register.domain import extract_wording as words

ON_REQUEST = (
    "De tidigare uppgifterna finns kvar i kommunens arkiv och lämnas ut till dig om du ber om det."
)
SEALED_ON_REQUEST = (
    "Fritext och kontaktuppgifter i de tidigare uppgifterna finns kvar i kommunens arkiv och "
    "lämnas ut till dig om du ber om det."
)
SEALED = frozenset({"contact_details", "sealed_text", "sealed_content", "mapping", "efforts"})
"""Fields not shown in the extract's values (sealed, or a plan's structured content)."""


def _day(value: Any) -> str:
    return words.swedish_date(date.fromisoformat(str(value)))


def _instant(value: Any) -> str:
    return words.swedish_instant(datetime.fromisoformat(str(value)))


def _code(table: Mapping[str, str]) -> Callable[[Any], str]:
    return lambda value: words.label(table, str(value))


def _listed(list_name: str) -> Callable[[Any], str]:
    return lambda value: words.code_label(list_name, str(value)) or str(value)


FIELDS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "attempted_at": ("när", _instant),
    "established_at": ("när", _instant),
    "informed_at": ("när", _instant),
    "channel": ("hur", _code(words.CHANNELS)),
    "outcome": ("resultat", _code(words.OUTCOMES)),
    "category": ("sysselsättning", _listed("occupation")),
    "tense": ("tid", _code(words.TENSES)),
    "from_date": ("från", _day),
    "to_date": ("till", _day),
    "confirmed_on": ("bekräftad", _day),
    "assignee_kind": ("ansvarig (slag)", str),
    "assignee": ("ansvarig", str),
    "valid_from": ("gäller från", _day),
    "goal": ("mål", str),
    "follow_up_on": ("uppföljning", _day),
    "evaluation_on": ("utvärdering", _day),
    "measure_type": ("insats", _listed("measure-type")),
    "offered_on": ("erbjuden", _day),
    "can_start_on": ("kan starta", _day),
    "accepted_on": ("tackade ja", _day),
    "declined_on": ("tackade nej", _day),
    "started_on": ("startade", _day),
    "ended_on": ("avslutades", _day),
    "end_reason": ("varför den slutade", _listed("measure-end-reason")),
    "occupation_after": ("sysselsättning efter", _listed("occupation")),
    "objected_on": ("invändningen gjordes", _day),
}
"""The fields an extract shows of an entry, in this order, with their Swedish words."""


def entry_values(event: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """An archived event's values as the extract shows them (field, value, Swedish label and
    words), in `FIELDS` order; None when the archive has no copy."""
    if event is None:
        return None
    shown = []
    for name, (label, text) in FIELDS.items():
        value = event.get(name)
        if value is None:
            continue
        try:
            value_text = text(value)
        except (TypeError, ValueError):
            value_text = str(value)
        shown.append({"field": name, "field_text": label, "value": value, "value_text": value_text})
    return shown


def has_sealed(event: Mapping[str, Any] | None) -> bool:
    """Whether the archived event holds values the extract does not show (`SEALED`)."""
    return event is not None and any(event.get(name) is not None for name in SEALED)


def values_sentence(heading: str, values: list[dict[str, Any]] | None) -> str | None:
    """`Tidigare: när 3 februari 2026 kl. 10.00, hur telefon.` (None when there are none)."""
    if not values:
        return None
    return f"{heading}: " + ", ".join(f"{v['field_text']} {v['value_text']}" for v in values) + "."
