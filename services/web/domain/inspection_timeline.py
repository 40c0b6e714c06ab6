"""A youth's timeline as the register held it at an instant (its audit replay of one youth,
`GET /v1/audit/youths/{id}`), in the words of the caseworker's Översikt: each scope decision with
its rules and the facts it used, the contacts, occupations, plan versions, measures, objections and
corrections, each with who recorded it and when.

Pure: no I/O. The code lists' Swedish words come in as `Words`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.web.domain import swedish
from services.web.domain.measures import state_label
from services.web.domain.youth import ENTRY_KINDS, TENSES, facts_shown, rule_shown, when_shown, who

CORRECTION_REASONS: dict[str, str] = {
    "wrong_date": "Fel datum",
    "wrong_value": "Fel uppgift",
    "wrong_youth": "Registrerad på fel ungdom",
    "recorded_twice": "Registrerad två gånger",
    "did_not_happen": "Har inte ägt rum",
    "other": "Annat",
}
CORRECTION_KINDS: dict[str, str] = {"corrected": "Rättelse", "withdrawn": "Återkallelse"}
MORE_KINDS: dict[str, str] = {
    "MeasureOffered": "Erbjuden insats",
    "MeasureAccepted": "Accepterad insats",
    "MeasureDeclined": "Avböjd insats",
    "MeasureStarted": "Startad insats",
    "MeasureEnded": "Avslutad insats",
    "PlanRevised": "Individuell plan",
    "ObjectionRecorded": "Invändning",
}
CONTACT_LOG_KINDS: dict[str, str] = {"established": "Kontakt", "informed": "Information given"}
TEXT_STATES: dict[str, str] = {
    "redacted": "Gallrad",
    "tampered": "Kunde inte läsas",
    "key_refused": "Kunde inte läsas",
}


@dataclass(frozen=True)
class Words:
    """The code lists' Swedish words (occupations, measure types, measures' end reasons)."""

    occupations: Mapping[str, str] = field(default_factory=dict)
    measure_types: Mapping[str, str] = field(default_factory=dict)
    end_reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EpisodeShown:
    period: str
    rule: str
    identified_on: str
    recorded: str  # who recorded the decision and when
    scope_ends_on: str
    left: str | None  # why, by which rules, who recorded it and when
    in_error: str | None  # who marked it registered in error, when and why
    facts: list[tuple[str, str]]


@dataclass(frozen=True)
class Line:
    """One recorded thing of a table: its columns, in Swedish."""

    cells: tuple[str, ...]


@dataclass(frozen=True)
class Timeline:
    youth_id: str
    status: str
    personal_data: str  # "" or why the personal data is not held (purged)
    episodes: list[EpisodeShown]
    contacts: list[Line]
    occupations: list[Line]
    plans: list[Line]
    measures: list[Line]
    objections: list[Line]
    corrections: list[Line]
    events: int  # the municipality's events recorded by the instant


def _by(actor: Any, at: Any) -> str:
    return f"{who(actor)}, {when_shown(str(at))}" if at else who(actor)


def episode_shown(raw: Mapping[str, Any]) -> EpisodeShown:
    """A scope episode as the caseworker's Översikt words it, with who recorded each step."""
    period = f"Från {swedish.swedish_iso_date(raw.get('entered_on'))}"
    if raw.get("left_on"):
        period += f" till {swedish.swedish_iso_date(raw.get('left_on'))}"
    left = None
    if raw.get("left_reason") and not raw.get("registered_in_error"):
        left = swedish.label(swedish.LEAVING_REASONS, raw["left_reason"])
        if raw.get("left_rule_version"):
            left += f", enligt {rule_shown(raw['left_rule_version'])}"
        left += f" (registrerat av {_by(raw.get('left_actor'), raw.get('left_recorded_at'))})"
    in_error = None
    if raw.get("registered_in_error"):
        why = swedish.label(CORRECTION_REASONS, raw.get("in_error_reason"))
        note = raw.get("in_error_note")
        in_error = f"{why}{f': {note}' if note else ''} (markerat av " \
                   f"{_by(raw.get('in_error_actor'), raw.get('in_error_recorded_at'))})"  # fmt: skip
    return EpisodeShown(
        period=period,
        rule=rule_shown(raw.get("entered_rule_version")),
        identified_on=swedish.swedish_iso_date(raw.get("identified_on")),
        recorded=_by(raw.get("entered_actor"), raw.get("entered_recorded_at")),
        scope_ends_on=swedish.swedish_iso_date(raw.get("scope_ends_on")),
        left=left,
        in_error=in_error,
        facts=facts_shown(raw.get("entered_facts")),
    )


def contacts_shown(raw: Mapping[str, Any]) -> list[Line]:
    """Contact attempts and the contact log (contacts made, information given), oldest first:
    when, what, channel, outcome, recorded by."""
    rows: list[tuple[str, Line]] = []
    for c in raw.get("contacts") or []:
        at = str(c.get("attempted_at") or "")
        rows.append((at, Line((when_shown(at), "Kontaktförsök",
                               swedish.label(swedish.CHANNELS, c.get("channel")),
                               swedish.label(swedish.OUTCOMES, c.get("outcome")),
                               who(c.get("actor"))))))  # fmt: skip
    for c in raw.get("contact_log") or []:
        at = str(c.get("at") or "")
        kind = swedish.label(CONTACT_LOG_KINDS, c.get("kind"))
        rows.append((at, Line((when_shown(at), kind,
                               swedish.label(swedish.CHANNELS, c.get("channel")), "–",
                               who(c.get("actor"))))))  # fmt: skip
    return [line for _, line in sorted(rows, key=lambda r: r[0])]


def occupations_shown(raw: Mapping[str, Any], words: Words) -> list[Line]:
    """Occupation, tense, from, to, confirmed on, recorded by."""
    return [
        Line(
            (
                swedish.label(dict(words.occupations), o.get("category")),
                swedish.label(TENSES, o.get("tense")),
                swedish.swedish_iso_date(o.get("from_date")),
                swedish.swedish_iso_date(o.get("to_date")),
                swedish.swedish_iso_date(o.get("confirmed_on")),
                who(o.get("actor")),
            )
        )
        for o in raw.get("occupations") or []
    ]


def _text(value: Any, state: Any) -> str:
    if state and state != "open":
        return TEXT_STATES.get(str(state), str(state))
    return str(value) if value else "–"


def plans_shown(raw: Mapping[str, Any]) -> list[Line]:
    """Version, valid from, goal, follow-up and evaluation, recorded by and when."""
    return [
        Line(
            (
                str(p.get("revision")),
                swedish.swedish_iso_date(p.get("valid_from")),
                _text(p.get("goal"), p.get("text")),
                swedish.swedish_iso_date(p.get("follow_up_on")),
                swedish.swedish_iso_date(p.get("evaluation_on")),
                _by(p.get("actor"), p.get("recorded_at")),
            )
        )
        for p in raw.get("plan_revisions") or []
    ]


def measures_shown(raw: Mapping[str, Any], words: Words) -> list[Line]:
    """Measure, offered on, its steps' days, state, content, offered by."""
    status = {str(m.get("measure_id")): m for m in raw.get("measure_status") or []}
    lines = []
    for m in raw.get("measures") or []:
        state = status.get(str(m.get("measure_id")), {})
        steps = [f"{label} {swedish.swedish_iso_date(state[key])}"
                 for key, label in (("accepted_on", "accepterad"), ("declined_on", "avböjd"),
                                    ("started_on", "startade"), ("ended_on", "avslutades"))
                 if state.get(key)]  # fmt: skip
        if state.get("end_reason"):
            steps.append(f"skäl: {swedish.label(dict(words.end_reasons), state['end_reason'])}")
        lines.append(Line((
            swedish.label(dict(words.measure_types), m.get("measure_type")),
            swedish.swedish_iso_date(m.get("offered_on")),
            ", ".join(steps) or "–",
            state_label(state.get("state")) if state else "–",
            _text(m.get("content"), m.get("text")),
            who(m.get("actor")),
        )))  # fmt: skip
    return lines


def corrections_shown(raw: Mapping[str, Any]) -> list[Line]:
    """When, correction or withdrawal, of what, why (and the note), by whom."""
    kinds = {**ENTRY_KINDS, **MORE_KINDS}
    lines = []
    for c in raw.get("corrections") or []:
        why = swedish.label(CORRECTION_REASONS, c.get("reason"))
        note = c.get("note")
        if note:
            why += f": {note}"
        elif c.get("note_text") not in (None, "open"):
            why += f" (anteckningen: {TEXT_STATES.get(str(c['note_text']), '–').lower()})"
        lines.append(Line((
            when_shown(str(c.get("recorded_at") or "")),
            swedish.label(CORRECTION_KINDS, c.get("kind")),
            swedish.label(kinds, c.get("target_event_type")),
            why,
            who(c.get("actor")),
        )))  # fmt: skip
    return lines


def timeline_shown(replay: Mapping[str, Any], words: Words) -> Timeline:
    """The register's audit replay of one youth (`replay["youth"]`) as the page shows it."""
    raw: Mapping[str, Any] = replay.get("youth") or {}
    status = {"in_scope": "I aktivitetsansvaret", "out_of_scope": "Utanför aktivitetsansvaret"}
    purged = raw.get("personal_data") == "purged"
    return Timeline(
        youth_id=str(raw.get("youth_id", "")),
        status="Felregistrerad" if raw.get("registered_in_error")
        else swedish.label(status, raw.get("status")),
        personal_data=f"Personuppgifterna är gallrade ({when_shown(str(raw.get('purged_at')))})."
        if purged else "",
        episodes=[episode_shown(e) for e in raw.get("scope_episodes") or []],
        contacts=contacts_shown(raw),
        occupations=occupations_shown(raw, words),
        plans=plans_shown(raw),
        measures=measures_shown(raw, words),
        objections=[Line((swedish.swedish_iso_date(o.get("objected_on")), who(o.get("actor"))))
                    for o in raw.get("objections") or []],
        corrections=corrections_shown(raw),
        events=int(replay.get("events_recorded_by_then") or 0),
    )  # fmt: skip
