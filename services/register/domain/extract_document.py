"""The youth's extract as a document in Swedish (pure): headings and short sentences made from the
extract's data (`extract.assemble`), one fact after another, so the PDF holds each fact the JSON
holds. Dates read "1 mars 2026"; codes are shown by their words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.register.domain.extract_values import values_sentence
from services.register.domain.extract_wording import swedish_date, swedish_instant

NOTHING = "Inga uppgifter."
IDENTITY_STATES = {
    "redacted": "Dina personuppgifter är gallrade (raderade).",
    "missing": "Registret har inga uppgifter från folkbokföringen om dig.",
    "tampered": "Uppgifterna om vem du är gick inte att läsa. Felet är loggat och utreds.",
}
TEXT_STATES = {
    "redacted": "Texten är gallrad (raderad).",
    "tampered": "Texten gick inte att läsa. Felet är loggat och utreds.",
}


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]
    level: int = 0


def _d(value: str | None) -> str:
    return swedish_date(date.fromisoformat(value)) if value else ""


def _t(value: str | None) -> str:
    return swedish_instant(datetime.fromisoformat(value)) if value else ""


def _sentences(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _list(name: str, items: Iterable[str]) -> str | None:
    shown = [item for item in items if item]
    return f"{name}: {'; '.join(shown)}." if shown else None


def _or_nothing(paragraphs: list[str]) -> tuple[str, ...]:
    return tuple(paragraphs) or (NOTHING,)


def _identity(data: Mapping[str, Any]) -> tuple[str, ...]:
    lines = [IDENTITY_STATES[data["state"]]] if data["state"] in IDENTITY_STATES else []
    if data.get("personnummer"):
        lines.append(f"Personnummer: {data['personnummer']}.")
    if data.get("given_name") or data.get("family_name"):
        lines.append(f"Namn: {data.get('given_name') or ''} {data.get('family_name') or ''}.")
    address = data.get("address")
    if data.get("address_text"):
        lines.append(f"Adress: {data['address_text']}. Din adress visas aldrig.")
    elif address:
        parts = [address.get("street"), address.get("postal_code"), address.get("city")]
        lines.append(f"Adress: {', '.join(p for p in parts if p)}.")
    if data.get("email"):
        lines.append(f"E-post: {data['email']}.")
    if data.get("phone"):
        lines.append(f"Telefon: {data['phone']}.")
    return _or_nothing(lines)


def _episode(e: Mapping[str, Any]) -> str:
    left = None
    if e["left_on"]:
        left = f"Ansvaret upphörde {_d(e['left_on'])}. {e['left_reason_text'] or ''}"
    marked = None
    if e.get("in_error_recorded_at"):
        by = f" av {e['in_error_role_text']}" if e.get("in_error_role_text") else ""
        marked = f"Markerades som registrerad av misstag {_t(e['in_error_recorded_at'])}{by}."
    return _sentences(
        f"Från {_d(e['entered_on'])}.", e["entered_text"], *e["entered_facts_text"],
        f"Ansvaret gäller längst till {_d(e['scope_ends_on'])}.", left, marked,
        f"Skäl: {e['in_error_reason_text']}." if e.get("in_error_reason_text") else None,
        f"Anteckning: {e['in_error_note']}" if e.get("in_error_note") else None,
    )  # fmt: skip


def _plan(p: Mapping[str, Any]) -> Section:
    lines = [f"Mål: {p['goal']}."] if p.get("goal") else []
    if p.get("text") in TEXT_STATES:
        lines.append(TEXT_STATES[p["text"]])
    for name, key in (("Dina mål", "goals"), ("Behov", "needs"),
                      ("Förväntningar", "expectations"), ("Intressen", "interests")):  # fmt: skip
        line = _list(name, p[key])
        if line:
            lines.append(line)
    for effort in p["efforts"]:
        who = effort["responsible_text"] + (
            f" ({effort['other_actor']})" if effort.get("other_actor") else ""
        )
        lines.append(_sentences(
            f"Insats i planen: {effort['description']}." if effort.get("description") else None,
            f"Ansvarig: {who}.",
            f"Från {_d(effort['start_date'])}." if effort.get("start_date") else None,
            f"Till {_d(effort['end_date'])}." if effort.get("end_date") else None,
            f"Varför den slutade: {effort['end_reason']}." if effort.get("end_reason") else None,
        ))  # fmt: skip
    if p.get("follow_up_on"):
        lines.append(f"Uppföljning: {_d(p['follow_up_on'])}.")
    if p.get("evaluation_on"):
        lines.append(f"Utvärdering: {_d(p['evaluation_on'])}.")
    heading = f"Planen, version {p['revision']}, från {_d(p['valid_from'])}"
    return Section(heading, _or_nothing(lines), level=1)


def _measure(m: Mapping[str, Any]) -> str:
    steps = (("Erbjuden", "offered_on"), ("Du tackade ja", "accepted_on"),
             ("Du tackade nej", "declined_on"), ("Startade", "started_on"),
             ("Avslutades", "ended_on"))  # fmt: skip
    return _sentences(
        f"{m['measure_type_text']}: {m['state_text']}.",
        f"Innehåll: {m['content']}." if m.get("content") else None,
        f"Kan starta: {_d(m['can_start_on'])}." if m.get("can_start_on") else None,
        *(f"{name}: {_d(m[key])}." for name, key in steps if m.get(key)),
        f"Varför den slutade: {m['end_reason_text']}." if m.get("end_reason_text") else None,
    )


def _correction(c: Mapping[str, Any]) -> str:
    return _sentences(
        f"{c['target_event_type_text']} {c['kind_text']} {_t(c['recorded_at'])}"
        f" av {c['role_text']}.",
        f"Skäl: {c['reason_text']}.",
        f"Anteckning: {c['note']}" if c.get("note") else None,
        values_sentence("Tidigare uppgifter", c.get("earlier_values")),
        values_sentence("Nya uppgifter", c.get("new_values")),
        c.get("earlier_values_text"),
    )


def _access(a: Mapping[str, Any]) -> str:
    return (
        f"{_t(a['at'])}: {a['role_text']} i {a['organisation_text']}, {a['service_text']}. "
        f"Varför: {a['purpose_text']}."
    )


def document(extract: Mapping[str, Any]) -> list[Section]:
    """The extract as the youth reads it, section by section (the first is the title)."""
    intro = [
        f"Det här är alla uppgifter som kommunen (kommunkod {extract['tenant']}) har om dig i "
        "registret över ungdomar som kommunen har ett aktivitetsansvar för.",
        f"Utdraget gjordes {_t(extract['produced_at'])}. Ditt id i registret: "
        f"{extract['youth_id']}.",
    ]
    if extract.get("purged_text"):
        intro.append(extract["purged_text"])
    assignment = extract.get("assignment")
    sections = [
        Section(extract["title"], tuple(intro)),
        Section("Vem du är", _identity(extract["identity"])),
        Section("När kommunen har ansvar för dig",
                _or_nothing([_episode(e) for e in extract["scope_episodes"]])),
        Section("Kontaktförsök", _or_nothing([
            f"{_t(a['attempted_at'])}: {a['channel_text']}, {a['outcome_text']}."
            for a in extract["contact_attempts"]])),
        Section("Kontakt och information", _or_nothing([
            f"{_t(c['at'])}: {c['kind_text']} ({c['channel_text']})."
            for c in extract["contacts"]])),
        Section("Sysselsättning", _or_nothing([
            _sentences(f"{o['category_text']} ({o['tense_text']}).",
                       f"Från {_d(o['from_date'])}.",
                       f"Till {_d(o['to_date'])}." if o.get("to_date") else None,
                       f"Bekräftad {_d(o['confirmed_on'])}.")
            for o in extract["occupations"]])),
        Section("Individuell plan", () if extract["plans"] else (NOTHING,)),
        *(_plan(p) for p in extract["plans"]),
        Section("Insatser", _or_nothing([_measure(m) for m in extract["measures"]])),
        Section("Invändningar", _or_nothing([
            f"Du invände mot registreringen {_d(o['objected_on'])}."
            for o in extract["objections"]])),
        Section("Vem som har ditt ärende", (
            f"{assignment['assignee']}, sedan {_t(assignment['assigned_at'])}.",
        ) if assignment else (NOTHING,)),
        Section("Rättelser och borttagna uppgifter",
                _or_nothing([_correction(c) for c in extract["corrections"]])),
        Section("Vem som har läst dina uppgifter",
                _or_nothing([_access(a) for a in extract["access_log"]])),
        Section("Hur länge uppgifterna sparas", (extract["retention"]["rule_text"],)),
        Section("Om något är fel", (
            "Om en uppgift är fel kan du be kommunen att rätta den. Kontakta den som har ditt "
            "ärende eller kommunen.",
        )),
    ]  # fmt: skip
    return sections
