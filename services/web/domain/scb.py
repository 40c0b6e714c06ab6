"""The coordinator's half-years and the SCB report in Swedish: which half-years a page offers, the
check report's findings in words, and the history of files (pure: no I/O).

The register speaks codes and English problems (`personnummer`, `no population record has named
this youth`); a page never shows one bare: a known problem is said in Swedish, an unknown one (a
newer register than this page) as the register wrote it, marked as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.web.domain.swedish import swedish_date, swedish_iso_date
from services.web.domain.youth import when_shown

FIRST_YEAR = 2015  # the register holds half-years from 2015


@dataclass(frozen=True, order=True)
class Half:
    """A half-year: `2026H1` is 1 January to 30 June 2026."""

    year: int
    half: int  # 1 or 2

    @property
    def name(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def label(self) -> str:
        return f"{'Första' if self.half == 1 else 'Andra'} halvåret {self.year}"

    @property
    def short(self) -> str:
        """For a chart's axis: `jan–jun 2026` or `jul–dec 2026`."""
        return f"{'jan–jun' if self.half == 1 else 'jul–dec'} {self.year}"


def _before(half: Half) -> Half:
    return Half(half.year, 1) if half.half == 2 else Half(half.year - 1, 2)


def current(today: date) -> Half:
    return Half(today.year, 1 if today.month <= 6 else 2)


def last_halves(today: date, count: int) -> list[Half]:
    """The `count` half-years up to today's, oldest first (none before the register's first)."""
    found = [current(today)]
    while len(found) < count and _before(found[-1]).year >= FIRST_YEAR:
        found.append(_before(found[-1]))
    return list(reversed(found))


_NAME = re.compile(r"(\d{4})H([12])")


def chosen(text: str | None, today: date, offered: list[Half]) -> Half:
    """The half-year a page was asked for, if it is one it offers; else the latest closed one
    (the one a report is usually made for), or today's."""
    found = _NAME.fullmatch(text or "")
    if found is not None:
        asked = Half(int(found.group(1)), int(found.group(2)))
        if asked in offered:
            return asked
    closed = [h for h in offered if h.end < today]
    return closed[-1] if closed else offered[-1]


FIELDS: dict[str, str] = {
    "personnummer": "Personnummer",
    "period": "Halvåret",
    "contact_date": "Kontaktdatum",
    "measure_end_date": "Insatsens slutdatum",
    "measure_type": "Insatstyp",
    "leaving_reason": "Orsak till att ansvaret upphörde",
    "occupation_at_registration": "Sysselsättning vid registrering",
    "occupation_at_contact": "Sysselsättning vid kontakt",
    "occupation_after": "Sysselsättning efter insatsen",
    "school_background": "Skolbakgrund",
}
BLOCKS: dict[int, str] = {
    1: "Obligatoriska uppgifter",
    2: "Kontakter",
    3: "Påbörjade insatser",
    4: "Avslutade insatser",
    5: "Ansvaret upphört",
}
_ISO = r"(\d{4}-\d{2}-\d{2})"
_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"no population record has named this youth",
         "Ingen uppgift från folkbokföringen har namngett ungdomen"),
        (r"the personal data was purged.*",
         "Personuppgifterna är gallrade; ungdomen kan inte namnges"),
        (r"the sealed personal data fails authentication.*",
         "De förseglade personuppgifterna kunde inte läsas (se tjänstens logg)"),
        (r"is not a valid personnummer.*",
         "Är inte ett giltigt personnummer eller samordningsnummer (kontrollsiffran)"),
        (r"the same person is reported twice.*",
         "Samma person rapporteras två gånger"),
        (r"\d{4}H[12] has not ended; figures may change",
         "Halvåret är inte slut; siffrorna kan ändras"),
        (_ISO + r" is outside every scope episode of the youth",
         "{0} ligger utanför ungdomens tid i aktivitetsansvaret"),
        (_ISO + r" is before the measure started.*",
         "{0} är före insatsens start"),
        (r"responsibility ended on " + _ISO + " without a reason",
         "Ansvaret upphörde {0} utan angiven orsak"),
        (r"'([^']*)' has no code of its own in .*; reported as (\S+)",
         "”{0}” har ingen egen kod i kodlistan; rapporteras som {1}"),
        (r"'([^']*)' has no code in .*",
         "”{0}” har ingen kod i SCB:s kodlista"),
    )
)  # fmt: skip


def problem_words(problem: str) -> str:
    """A finding's problem in Swedish (dates as Swedish dates); an unknown one as written."""
    for pattern, words in _PROBLEMS:
        found = pattern.fullmatch(problem)
        if found is not None:
            parts = [swedish_iso_date(g) if re.fullmatch(_ISO, g) else g for g in found.groups()]
            return words.format(*parts)
    return f"Registrets text: {problem}"


@dataclass(frozen=True)
class FindingShown:
    severity: str  # Fel, Varning
    youth_id: str | None
    block: str
    field: str
    problem: str


def findings(report: dict[str, Any]) -> list[FindingShown]:
    """The report's findings, errors first, each in Swedish with the youth it concerns."""
    out = []
    for f in report.get("findings", []):
        block = f.get("block")
        out.append(
            FindingShown(
                severity="Fel" if f.get("severity") == "error" else "Varning",
                youth_id=f.get("youth_id"),
                block=f"{block} {BLOCKS.get(block, '')}".strip() if block else "Hela rapporten",
                field=FIELDS.get(str(f.get("field")), str(f.get("field"))),
                problem=problem_words(str(f.get("problem", ""))),
            )
        )
    return sorted(out, key=lambda f: f.severity != "Fel")


def event_range(described: dict[str, Any] | None) -> str:
    """The events a file was built from, in words: how many of the municipality's, until when."""
    if not described:
        return "–"
    count = int(described.get("tenant_events") or 0)
    last = described.get("last_recorded_at")
    return f"{count} händelser" + (f" till och med {when_shown(str(last))}" if last else "")


def positions(described: dict[str, Any] | None) -> list[str]:
    """Where in each topic's partition the register had read to: `identify.events.v1, del 3:
    position 12` (the deployment's prefix left out)."""
    out = []
    for key, offset in sorted((described or {}).get("positions", {}).items()):
        topic, _, partition = str(key).rpartition("/")
        name = topic.split("kaa.", 1)[-1]
        out.append(
            f"{name}, del {partition}: position {offset}" if partition else f"{key}: {offset}"
        )
    return out


@dataclass(frozen=True)
class FileShown:
    sequence: int
    made: str
    actor: str
    sha256: str
    youths: int
    events: str
    positions: list[str]
    forced: bool
    errors: int
    warnings: int
    superseded: bool


def history(state: dict[str, Any]) -> list[FileShown]:
    """The period's files, newest first."""
    out = [
        FileShown(
            sequence=int(e["sequence"]),
            made=when_shown(str(e["recorded_at"])),
            actor=str(e.get("actor", "")),
            sha256=str(e.get("content_sha256", "")),
            youths=int(e.get("youths", 0)),
            events=event_range(e.get("event_range")),
            positions=positions(e.get("event_range")),
            forced=bool(e.get("forced")),
            errors=int(e.get("errors", 0)),
            warnings=int(e.get("warnings", 0)),
            superseded=bool(e.get("superseded")),
        )
        for e in state.get("exports", [])
    ]
    return sorted(out, key=lambda f: -f.sequence)


def period_words(half: Half, today: date) -> str:
    """Whether the half-year is closed, said for the page's lead."""
    if half.end < today:
        return f"{half.label} ({swedish_date(half.start)} – {swedish_date(half.end)}) är avslutat."
    return f"{half.label} pågår till {swedish_date(half.end)}; siffrorna kan ändras."
