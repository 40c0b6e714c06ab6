"""The entries of a youth's measures case as the views show them, so a caseworker can name what to
correct or withdraw: each step, plan revision, follow-up completion and objection with its event id, what it corrects, and whether
(by which entry, who, when, why: the reason code and the note opened) it was corrected since or
withdrawn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.measures.adapters.outbound import entry_event_id
from services.measures.domain import MeasuresCase
from services.measures.domain.follow_ups import OBJECTION
from shared.contracts.events import Correction
from shared.free_text import Opener, content_shown, plan_revision_shown

HIDDEN = frozenset({"content", "content_digest", "version"})


def note_shown(sealed: str | None, open_: Opener) -> str | None:
    """A correction's note opened (None without one, or once it cannot be opened)."""
    if sealed is None:
        return None
    _, plain = open_(sealed, Correction.SEALED_PURPOSE)
    return plain.decode() if plain is not None else None


def _mark(case: MeasuresCase, mark: Mapping[str, Any] | None, open_: Opener) -> Any:
    if mark is None:
        return None
    shown = {k: v for k, v in mark.items() if k not in ("by", "sealed_note")}
    if "by" in mark:
        shown["by"] = entry_event_id(case.id, mark["by"])
    return {**shown, "note": note_shown(mark.get("sealed_note"), open_)}


def entry_shown(case: MeasuresCase, version: int, open_: Opener) -> dict[str, Any]:
    """One entry: its event id and type, who recorded it, what it corrects and why, and whether
    it was corrected since (`corrected`) or withdrawn (`withdrawn`)."""
    entry = case.record.entries[version]
    corrects = entry["corrects"]
    shown: dict[str, Any] = {
        "event_id": entry_event_id(case.id, version),
        "event_type": entry["event_type"],
        "actor": entry["actor"],
        "corrects": entry_event_id(case.id, corrects) if corrects is not None else None,
        "correction": _mark(case, entry["correction"], open_),
        "corrected": _mark(case, entry["corrected"], open_),
        "withdrawn": _mark(case, entry["withdrawn"], open_),
    }
    if entry["measure_id"] is not None:
        shown["step"] = entry["step"]
        shown.update({k: v for k, v in entry["values"].items() if k not in HIDDEN})
    return shown


def measure_entries(case: MeasuresCase, measure_id: str, open_: Opener) -> list[dict[str, Any]]:
    """Every entry of a measure, in the order recorded."""
    return [
        entry_shown(case, version, open_)
        for version, entry in case.record.entries.items()
        if entry["measure_id"] == measure_id
    ]


def revision_shown(
    case: MeasuresCase, revision: Mapping[str, Any], open_: Opener
) -> dict[str, Any]:
    """A plan revision, its words opened, with its entry (event id, corrections) beside."""
    shown = plan_revision_shown({k: v for k, v in revision.items() if k != "version"}, open_)
    version = revision.get("version")
    if version is None:
        return shown
    entry = entry_shown(case, version, open_)
    return {**shown, **{k: v for k, v in entry.items() if k != "actor"}}


def revisions_shown(case: MeasuresCase, open_: Opener) -> list[dict[str, Any]]:
    """Every plan revision recorded, corrections and withdrawn ones too, in the order recorded."""
    return [
        revision_shown(case, entry["values"], open_)
        for entry in case.record.entries.values()
        if entry["measure_id"] is None
    ]


def measure_shown(measure_id: str, measure: Mapping[str, Any], open_: Opener) -> dict[str, Any]:
    """A measure as the view shows it: its content opened (`text` says what became of it)."""
    shown = {"measure_id": measure_id, **measure}
    shown.pop("content_digest", None)
    if measure.get("content_digest") is None:  # recorded before free text was sealed
        shown["text"] = None if measure.get("content") is None else "open"
        return shown
    shown["content"], shown["text"] = content_shown(measure.get("content"), open_)
    return shown


def measures_shown(case: MeasuresCase, open_: Opener) -> list[dict[str, Any]]:
    """The youth's measures, each with its entries; one of which nothing stands (every step
    withdrawn) with state null."""
    return [
        {
            **(measure_shown(k, case.measures[k], open_) if k in case.measures
               else {"measure_id": k, "state": None}),
            "entries": measure_entries(case, k, open_),
        }
        for k in case.measure_ids
    ]  # fmt: skip


def day_entry_shown(case: MeasuresCase, version: int, open_: Opener) -> dict[str, Any]:
    """A follow-up's completion or an objection as an entry: its event id and type, its day, who
    recorded it, what it corrects and why, whether it was corrected since or withdrawn."""
    entry = case.book.entries[version]
    corrects = entry["corrects"]
    return {
        "event_id": entry_event_id(case.id, version),
        "event_type": entry["event_type"],
        "actor": entry["actor"],
        **entry["values"],
        "corrects": entry_event_id(case.id, corrects) if corrects is not None else None,
        "correction": _mark(case, entry["correction"], open_),
        "corrected": _mark(case, entry["corrected"], open_),
        "withdrawn": _mark(case, entry["withdrawn"], open_),
    }


def follow_ups_shown(case: MeasuresCase, open_: Opener) -> list[dict[str, Any]]:
    """The youth's follow-ups, each with its completions as entries (in the order recorded)."""
    return [
        {**known, "entries": [day_entry_shown(case, v, open_)
                              for v, e in case.book.entries.items() if e["follow_up_id"] == fid]}
        for fid, known in case.follow_ups.items()
    ]  # fmt: skip


def objections_shown(case: MeasuresCase, open_: Opener) -> list[dict[str, Any]]:
    """Every objection recorded as an entry, corrections and withdrawn ones too."""
    return [
        day_entry_shown(case, v, open_)
        for v, e in case.book.entries.items()
        if e["event_type"] == OBJECTION
    ]
