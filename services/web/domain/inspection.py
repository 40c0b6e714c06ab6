"""The inspector's pages in Swedish: the instants an inspector types, the register as it stood at
one instant beside another (who entered, who left, what changed: said in words, never by colour
alone), pages of a long list, and the access log's entries.

Pure: no I/O. The code lists' Swedish words come in as arguments (the use cases read them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from services.web.domain import swedish
from services.web.domain.youth import ISO_DAY, STOCKHOLM, when_shown, who

PAGE_SIZE = 50  # rows of a long list on one page (a 5,000-youth register is never one page)
INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?$")
INSTANT_HINT = "År-månad-dag och klockslag, till exempel 2026-03-01 14:30 (svensk tid)"


def instant_typed(text: str) -> datetime | None:
    """An instant as an inspector types it, `2026-03-01 14:30` (seconds allowed:
    `2026-03-01 14:30:15`), in the municipality's time (Stockholm); None when it is none."""
    found = INSTANT.match(text.strip())
    if found is None:
        return None
    try:
        day = date.fromisoformat(found.group(1))
        at = time(int(found.group(2)), int(found.group(3)), int(found.group(4) or 0))
    except ValueError:
        return None
    return datetime.combine(day, at, tzinfo=STOCKHOLM)


def period_bound(text: str, *, end: bool) -> datetime | None:
    """A bound of a period searched: an instant as typed, or a day alone (its start; for the end
    of a period, the start of the next day, so the whole day is in it)."""
    text = text.strip()
    if ISO_DAY.match(text):
        try:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
        except (ValueError, OverflowError):  # not a day, or the day after 9999-12-31
            return None
        return datetime.combine(day, time(), tzinfo=STOCKHOLM)
    return instant_typed(text)


def instant_problem(text: str, label: str, now: datetime, *, required: bool = True) -> str | None:
    """Why `text` is no instant the register can be replayed at, in Swedish (never repeating it)."""
    if not text.strip():
        return f"Fyll i {label.lower()}." if required else None
    at = instant_typed(text)
    if at is None:
        return f"{label} ska skrivas som år-månad-dag och klockslag, till exempel 2026-03-01 14:30."
    if at > now:
        return f"{label} får inte ligga i framtiden."
    return None


def instant_said(at: datetime, *, seconds: bool = False) -> str:
    """`1 mars 2026 kl. 14:30` (with the seconds when there are any, or when asked for),
    Stockholm's time."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    local = at.astimezone(STOCKHOLM)
    clock = f"{local:%H:%M:%S}" if local.second or seconds else f"{local:%H:%M}"
    return f"{swedish.swedish_date(local.date())} kl. {clock}"


def instant_field(at: datetime) -> str:
    """An instant as the field shows it again: `2026-03-01 14:30` (or `…14:30:15`)."""
    local = at.astimezone(STOCKHOLM)
    return f"{local:%Y-%m-%d %H:%M:%S}" if local.second else f"{local:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Paging:
    """One page of a long list: which page (from 1), how many pages, the rows' numbers."""

    page: int
    pages: int
    total: int
    first: int  # the first row's number on this page (1-based; 0 when none)
    last: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


def paging(total: int, page: int, size: int = PAGE_SIZE) -> Paging:
    """The page asked for, kept within the list (a page past the end shows the last)."""
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    first = (page - 1) * size + 1 if total else 0
    return Paging(page, pages, total, first, min(page * size, total))


@dataclass(frozen=True)
class RowShown:
    """One youth in the register at an instant, in Swedish."""

    youth_id: str
    in_scope: bool
    status: str
    entered_on: str
    scope_ends_on: str
    left: str
    rule: str
    occupation: str
    contacts: int
    measures: int

    def values(self) -> dict[str, str]:
        """What is compared between two instants, by its Swedish label."""
        return {
            "Status": self.status, "I aktivitetsansvaret från": self.entered_on,
            "Slutar senast": self.scope_ends_on, "Lämnade": self.left, "Regler": self.rule,
            "Sysselsättning": self.occupation, "Kontaktförsök": str(self.contacts),
            "Erbjudna insatser": str(self.measures),
        }  # fmt: skip


def row_shown(raw: Mapping[str, Any], occupations: Mapping[str, str]) -> RowShown:
    """A youth row of the register's audit replay (`GET /v1/audit/register`) in Swedish."""
    in_scope = raw.get("status") == "in_scope"
    reason = raw.get("left_reason")
    left = swedish.swedish_iso_date(raw.get("left_on")) if raw.get("left_on") else "–"
    if reason:
        left = f"{left} ({swedish.label(swedish.LEAVING_REASONS, reason)})"
    occupation = raw.get("occupation")
    return RowShown(
        youth_id=str(raw["youth_id"]),
        in_scope=in_scope,
        status="I aktivitetsansvaret" if in_scope else "Utanför aktivitetsansvaret",
        entered_on=swedish.swedish_iso_date(raw.get("entered_on")),
        scope_ends_on=swedish.swedish_iso_date(raw.get("scope_ends_on")),
        left=left,
        rule=str(raw.get("rule_version") or "–"),
        occupation=swedish.label(dict(occupations), occupation)
        if occupation
        else "Inte registrerad",
        contacts=int(raw.get("contacts") or 0),
        measures=int(raw.get("measures") or 0),
    )


Kind = Literal["entered", "left", "changed"]
KINDS: dict[str, str] = {"entered": "Kom in", "left": "Lämnade", "changed": "Ändrad"}


@dataclass(frozen=True)
class Difference:
    kind: Kind
    changes: list[str]  # each change in words: "Sysselsättning: Arbete → Studier inom komvux"

    @property
    def label(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True)
class Compared:
    """One youth of either register: as it stood at the first instant (None: not in it), and how
    the second differs (None: it does not)."""

    youth_id: str
    then: RowShown | None
    other: RowShown | None
    difference: Difference | None


def difference(then: RowShown | None, other: RowShown | None) -> Difference | None:
    """How the register at the second instant differs for one youth from the first: entered (new
    in the register, or into the activity responsibility), left (out of it, or out of the register:
    registered in error or purged), changed (anything else shown), or None."""
    if then is None and other is None:
        return None
    if then is None:
        assert other is not None
        return Difference("entered", [f"Ny i registret: {other.status.lower()}"])
    if other is None:
        return Difference("left", ["Finns inte i registret (felregistrerad eller gallrad)"])
    before, after = then.values(), other.values()
    changes = [f"{k}: {before[k]} → {after[k]}" for k in before if before[k] != after[k]]
    if then.in_scope != other.in_scope:
        return Difference("entered" if other.in_scope else "left", changes)
    return Difference("changed", changes) if changes else None


@dataclass(frozen=True)
class Comparison:
    rows: list[Compared]
    counts: dict[str, int] = field(default_factory=dict)  # by kind

    @property
    def differing(self) -> list[Compared]:
        return [row for row in self.rows if row.difference is not None]


def compare(
    then: Sequence[Mapping[str, Any]],
    other: Sequence[Mapping[str, Any]],
    occupations: Mapping[str, str],
) -> Comparison:
    """The register at the first instant beside the second: every youth of either (the first's
    order, then those only in the second), each with how the second differs."""
    first = {str(r["youth_id"]): row_shown(r, occupations) for r in then}
    second = {str(r["youth_id"]): row_shown(r, occupations) for r in other}
    ids = list(first) + [y for y in second if y not in first]
    rows = [Compared(y, first.get(y), second.get(y), difference(first.get(y), second.get(y)))
            for y in ids]  # fmt: skip
    counts = dict.fromkeys(KINDS, 0)
    for row in rows:
        if row.difference is not None:
            counts[row.difference.kind] += 1
    return Comparison(rows, counts)


SUMMARY: dict[str, str] = {
    "known": "Ungdomar i registret",
    "in_scope": "I aktivitetsansvaret",
    "left_scope": "Har lämnat aktivitetsansvaret",
    "contacted": "Ungdomar med kontaktförsök",
    "contact_attempts": "Kontaktförsök",
    "offered": "Ungdomar som erbjudits insats",
    "measure_offers": "Erbjudna insatser",
}


def summary_rows(
    then: Mapping[str, Any], other: Mapping[str, Any]
) -> list[tuple[str, int, int, str]]:
    """The register's figures at both instants: (what, first, second, the change in words)."""
    rows = []
    for key, label in SUMMARY.items():
        a, b = int(then.get(key) or 0), int(other.get(key) or 0)
        change = "Oförändrat" if a == b else (f"{b - a:+d}".replace("-", "−"))
        rows.append((label, a, b, change))
    return rows


PURPOSES: dict[str, str] = {
    "casework": "Handläggning",
    "identity": "Kontroll av identitet",
    "register": "Registret",
    "audit-replay": "Granskning (registret vid en tidpunkt)",
    "scb-report": "Rapport till SCB",
    "retention": "Gallring",
    "inspection": "Tillsyn",
    "extract": "Registerutdrag",
}
SERVICES: dict[str, str] = {
    "register": "Registret",
    "outreach": "Uppsökande arbete",
    "measures": "Insatser",
    "identify": "Identifiering",
    "kaa-cli": "Kommandoraden",
}
WHAT: dict[str, str] = {
    "register timeline": "Ungdomens tidslinje i registret",
    "letter": "Brev till ungdomen",
    "extract": "Registerutdrag",
}
AS_OF = re.compile(r"^(whole )?register as of (.+)$")


def what_said(what: str) -> tuple[str, bool]:
    """What an access log entry says was read, in Swedish where this page knows the words; else
    as the service wrote it (and False: not Swedish)."""
    found = AS_OF.match(what)
    if found:
        whole = "Hela registret" if found.group(1) else "Ungdomens tidslinje"
        try:
            at = datetime.fromisoformat(found.group(2).replace("Z", "+00:00"))
        except ValueError:
            return what, False
        return f"{whole} vid {instant_said(at, seconds=True)}", True
    if what in WHAT:
        return WHAT[what], True
    return what, False


@dataclass(frozen=True)
class AccessShown:
    at: str
    reader: str
    youth_id: str
    purpose: str
    what: str
    what_swedish: bool
    service: str


def access_shown(entry: Mapping[str, Any]) -> AccessShown:
    """One entry of the register's access log (`GET /v1/access-log`) in Swedish."""
    what, in_swedish = what_said(str(entry.get("what", "")))
    try:
        at = instant_said(datetime.fromisoformat(str(entry.get("at"))), seconds=True)
    except ValueError:
        at = when_shown(str(entry.get("at") or ""))
    return AccessShown(
        at=at,
        reader=who(entry.get("actor")),
        youth_id=str(entry.get("youth_id")),
        purpose=swedish.label(PURPOSES, entry.get("purpose")),
        what=what,
        what_swedish=in_swedish,
        service=swedish.label(SERVICES, entry.get("service")),
    )


def reader_of(typed: str) -> str | None:
    """The access log's actor for a user name as typed (`anna.andersson` → `user:anna.andersson`;
    an actor written out, `cli:root`, as it is); None for a blank field."""
    typed = typed.strip()
    if not typed:
        return None
    return typed if ":" in typed else f"user:{typed}"


def youth_typed(text: str) -> uuid.UUID | None:
    """A pseudonymous youth id as typed; None when it is none."""
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None
