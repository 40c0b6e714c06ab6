"""The youth's pages in a caseworker's Swedish: why a scope decision was taken (the facts the rule
used, as identify recorded them), the contact log's entries, and the times a caseworker types.

Pure: no I/O. A fact or a value this page does not know is shown as itself rather than hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.web.domain import swedish

STOCKHOLM = ZoneInfo("Europe/Stockholm")

FACTS: dict[str, str] = {
    "on": "Bedömningsdag",
    "tenant": "Kommun",
    "age": "Ålder",
    "folkbokford": "Folkbokföring",
    "folkbokford_in_tenant": "Folkbokförd i kommunen",
    "status": "Folkbokföringsstatus",
    "arrived_past_compulsory_school_age": "Kom till Sverige efter skolpliktig ålder",
    "compulsory_school": "Grundskolan",
    "compulsory_school_ends": "Skolplikten upphörde",
    "completed": "Har slutfört",
    "studiebevis": "Studiebevis",
    "introduction_programme": "Introduktionsprogram",
    "enrolled_in": "Inskriven i",
    "studies": "Studier",
    "rule": "Regel",
}
VALUES: dict[str, str] = {
    "yes": "ja",
    "no": "nej",
    "none": "ingen gymnasieutbildning",
    "unknown": "okänt",
    "deceased": "avliden",
    "emigrated": "utvandrad",
    "not completed in Sweden": "inte avslutad i Sverige",
    "not yet completed": "inte avslutad än",
    "yes (does not end scope)": "ja (avslutar inte aktivitetsansvaret)",
    "yes (in scope before 2018-07-01)": "ja (i aktivitetsansvaret före 1 juli 2018)",
    "no activity responsibility before 2015-01-01": "inget aktivitetsansvar före 1 januari 2015",
}
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RULE = re.compile(r"^kaa-(\d{4}-\d{2}-\d{2})$")

ENTRY_KINDS: dict[str, str] = {
    "ContactAttempted": "Kontaktförsök",
    "ContactEstablished": "Kontakt",
    "YouthInformed": "Information given",
    "OccupationRecorded": "Sysselsättning",
    "ContactDetailsRecorded": "Kontaktuppgifter",
    "CaseAssigned": "Tilldelning",
}
WHEN_KEYS = ("attempted_at", "established_at", "informed_at", "at", "assigned_at", "confirmed_on")

TENSES: dict[str, str] = {"current": "Nuvarande", "previous": "Tidigare", "planned": "Planerad"}
PURPOSES: dict[str, str] = {
    "casework": "Handläggning: jag ska kontakta ungdomen",
    "identity": "Kontroll av ungdomens identitet",
}


def fact_value(key: str, value: Any) -> str:
    text = str(value)
    if key == "age" and text.isdigit():
        return f"{text} år"
    if ISO_DAY.match(text):
        return swedish.swedish_iso_date(text)
    return VALUES.get(text, text)


def facts_shown(facts: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The facts behind a decision, in the order of `FACTS` (unknown ones after, as recorded)."""
    if not facts:
        return []
    known = [(FACTS[k], fact_value(k, facts[k])) for k in FACTS if k in facts]
    rest = [(k, fact_value(k, v)) for k, v in facts.items() if k not in FACTS]
    return known + rest


def rule_shown(version: str | None) -> str:
    """`kaa-2018-07-01` → `Reglerna från 1 juli 2018 (kaa-2018-07-01)`."""
    if not version:
        return "–"
    found = RULE.match(version)
    if found is None:
        return version
    return f"Reglerna från {swedish.swedish_iso_date(found.group(1))} ({version})"


FEEDS = {
    "population": "folkbokföringen",
    "ss12000": "skolornas elevregister",
    "completions": "registret över slutförda utbildningar",
}


def who(actor: str | None) -> str:
    """An actor as a person reads it: `user:anna` → `anna`, a feed by its source in Swedish
    (`feed:population` → "folkbokföringen"), a system as "systemet"."""
    if not actor:
        return "–"
    if actor.startswith("system:"):
        return "systemet"
    if actor.startswith("feed:"):
        return FEEDS.get(actor.removeprefix("feed:"), "en inläst fil")
    return actor.removeprefix("user:")


def when_shown(value: str | None) -> str:
    """An instant or a day as the services send it, in Swedish (Stockholm's time)."""
    if not value:
        return "–"
    if ISO_DAY.match(value):
        return swedish.swedish_iso_date(value)
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(STOCKHOLM)
    except ValueError:
        return value
    return f"{swedish.swedish_date(at.date())} kl. {at:%H:%M}"


@dataclass(frozen=True)
class EntryShown:
    kind: str
    when: str
    channel: str
    outcome: str
    actor: str
    state: str  # "", "Rättad", "Återkallad", "Rättelse"


def entry_shown(entry: dict[str, Any]) -> EntryShown:
    """One entry of the outreach case's log (`entries` of the case view) in Swedish."""
    values: dict[str, Any] = entry.get("values") or {}
    when = next((str(values[k]) for k in WHEN_KEYS if values.get(k)), None)
    if entry.get("withdrawn"):
        state = "Återkallad"
    elif entry.get("corrected"):
        state = "Rättad"
    elif entry.get("corrects"):
        state = "Rättelse"
    else:
        state = ""
    event_type = str(entry.get("event_type", ""))
    outcome = values.get("outcome")
    return EntryShown(
        kind=ENTRY_KINDS.get(event_type, event_type),
        when=when_shown(when),
        channel=swedish.label(swedish.CHANNELS, values.get("channel")),
        outcome=swedish.label(swedish.OUTCOMES, outcome) if outcome else "",
        actor=who(entry.get("actor")),
        state=state,
    )


TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2})[:.](\d{2})$")


def typed_instant(text: str) -> datetime | None:
    """A time as a caseworker types it, `2026-03-02 14:30` (or a day alone: noon), in Stockholm's
    time; None when it is no such time."""
    text = text.strip()
    found = TIME.match(text)
    try:
        if found:
            day = date.fromisoformat(found.group(1))
            hour, minute = int(found.group(2)), int(found.group(3))
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)
        if ISO_DAY.match(text):
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 12, tzinfo=STOCKHOLM)
    except ValueError:
        return None
    return None


def typed_day(text: str) -> date | None:
    """A day as typed (`2026-03-02`); None when it is none."""
    text = text.strip()
    if not ISO_DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
