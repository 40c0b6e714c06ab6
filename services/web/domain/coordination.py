"""The coordinator's pages in Swedish: whose cases (a caseworker, a team, nobody), the
municipality's rules with their explanations, the measure catalogue's sources, and each change of
either as the history shows it. Pure: no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from services.web.domain.youth import when_shown, who

UNASSIGNED = "Ej tilldelade"
CODE_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")
ASSIGNEE_PATTERN = re.compile(r"^[A-Za-z0-9_.@:-]{1,120}$")


@dataclass(frozen=True)
class RuleText:
    service: str  # the service that keeps it: outreach or measures
    label: str
    hint: str
    unit: str  # "arbetsdagar" or "dagar"


# The municipality's own time rules (no statutory day limits exist), as the form explains them.
RULES: dict[str, RuleText] = {
    "first_contact_working_days": RuleText(
        "outreach", "Gräns för första kontaktförsök",
        "Arbetsdagar från att kommunen kunde veta om ungdomen till det första kontaktförsöket. "
        "Ett ärende som väntar längre räknas som försenat på Samordning och i Min dag.",
        "arbetsdagar",
    ),
    "recontact_days": RuleText(
        "outreach", "Nytt kontaktförsök efter att ungdomen inte nåtts",
        "Dagar efter ett kontaktförsök som inte nådde ungdomen tills ärendet kommer upp på "
        "listan Nytt kontaktförsök.",
        "dagar",
    ),
    "occupation_currency_days": RuleText(
        "outreach", "Hur länge en sysselsättning är aktuell",
        "Dagar efter att sysselsättningen senast bekräftades tills den räknas som inaktuell och "
        "ärendet kommer upp på listan Sysselsättning att bekräfta.",
        "dagar",
    ),
    "turning_20_notice_days": RuleText(
        "outreach", "Förvarning inför 20-årsdagen",
        "Dagar före 20-årsdagen, då aktivitetsansvaret upphör, som ärendet kommer upp på "
        "listan Fyller 20.",
        "dagar",
    ),
    "reoffer_after_days": RuleText(
        "measures", "Nytt erbjudande efter att ungdomen tackat nej",
        "Dagar efter att ungdomen tackat nej till en insats tills en påminnelse om att erbjuda "
        "en insats igen kommer upp.",
        "dagar",
    ),
}  # fmt: skip

SOURCES = {
    "standard": "Standard",
    "municipality": "Kommunens egen",
    "consortium": "Delad i konsortiet",
}
CATALOGUES = {"municipality": "kommunens egen katalog", "consortium": "konsortiets delade katalog"}
CHANGES = {"added": "Lades till", "changed": "Ändrades", "retired": "Togs bort"}


def holder_text(kind: str | None, assignee: str | None) -> str:
    """Whose cases, as a person reads it: a caseworker by name, `Team <code>`, or nobody."""
    if not assignee:
        return UNASSIGNED
    return f"Team {assignee}" if kind == "team" else who(assignee)


def holder_key(secret: str, kind: str | None, assignee: str | None) -> str:
    """What names a holder in an address: a keyed hash, so no user name is in a URL."""
    message = f"samordning|{kind or ''}|{assignee or ''}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:20]


def count_said(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def rule_value_said(name: str, value: int) -> str:
    unit = RULES[name].unit if name in RULES else "dagar"
    return f"{value} {unit[:-2] if value == 1 and unit.endswith('ar') else unit}"


@dataclass(frozen=True)
class ChangeShown:
    """One row of a history: when, who, what."""

    at: str
    sort_key: str
    actor: str
    what: str


def rules_changes(history: list[dict[str, Any]]) -> list[ChangeShown]:
    """The rules' changes (both services' stored events), newest first, each rule changed said
    with its label, from what to what."""
    shown = []
    for change in history:
        parts = [
            f"{RULES[name].label if name in RULES else name}: "
            f"{rule_value_said(name, int(values['from']))} → {rule_value_said(name, int(values['to']))}"
            for name, values in (change.get("changes") or {}).items()
        ]
        shown.append(ChangeShown(
            at=when_shown(str(change.get("at") or "")), sort_key=str(change.get("at") or ""),
            actor=who(change.get("actor")),
            what="; ".join(parts) or "Inga värden ändrades (samma värden sparades igen)",
        ))  # fmt: skip
    return sorted(shown, key=lambda c: c.sort_key, reverse=True)


def catalogue_changes(history: list[dict[str, Any]]) -> list[ChangeShown]:
    """The catalogue's changes, newest first: which catalogue, what happened to which measure."""
    shown = []
    for change in history:
        name = change.get("name") or change.get("code")
        what = f"{CHANGES.get(str(change.get('change')), 'Ändrades')}: {name} (kod {change.get('code')})"
        details = [f"{label} {change[k]}" for k, label in
                   (("description", "beskrivning:"), ("provider", "anordnare:")) if change.get(k)]  # fmt: skip
        catalogue = CATALOGUES.get(str(change.get("catalogue")), "")
        shown.append(ChangeShown(
            at=when_shown(str(change.get("at") or "")), sort_key=str(change.get("at") or ""),
            actor=who(change.get("actor")),
            what=" – ".join([f"{what} i {catalogue}", *details]),
        ))  # fmt: skip
    return sorted(shown, key=lambda c: c.sort_key, reverse=True)


BOUNDS = re.compile(r"between (\d+) and (\d+)")


def rule_problem(problem: str) -> str:
    """A service's refusal of a rule's value, in Swedish (never the value)."""
    found = BOUNDS.search(problem)
    if found:
        return f"måste vara mellan {found.group(1)} och {found.group(2)}"
    return "har ett värde som inte godtogs"


def typed_days(text: str) -> int | None:
    """A whole number of days as typed (spaces allowed around it), or None."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None
