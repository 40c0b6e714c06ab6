"""Delivery files in a watched directory (pure rules): which names are deliveries ready to read,
where they go afterwards, and why one could not be read.

A writer drops a delivery as `name.jsonl`. It is never read half-written: with the `rename` rule
only a complete name counts (the writer writes `name.jsonl.part`, `name.jsonl.tmp` or a dotfile and
renames it when done); with the `marker` rule a file counts only once `name.jsonl.ready` stands
beside it. A delivery read is moved to `done/`, one that cannot be read to `quarantine/` with
`<name>.reason.txt` beside it; no file there is ever overwritten (a later one gets a suffix).
The reasons never quote the file: they say where and what, never a value from it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

DELIVERY_SUFFIX = ".jsonl"
MARKER_SUFFIX = ".ready"
REASON_SUFFIX = ".reason.txt"
DONE = "done"
QUARANTINE = "quarantine"

NOT_AN_OBJECT = "no line is a JSON object"
VANISHED = "the file vanished before it was read"


class DeliveryFeed(StrEnum):
    """The feeds that arrive as delivery files (SS 12000 comes from its connector)."""

    population = "population"
    completions = "completions"


class ReadyRule(StrEnum):
    """How a writer says a delivery is complete."""

    rename = "rename"  # written under another name, renamed to name.jsonl when done
    marker = "marker"  # name.jsonl.ready written beside it when done


def marker_of(name: str) -> str:
    return f"{name}{MARKER_SUFFIX}"


def is_delivery_name(name: str) -> bool:
    """A complete delivery's name: `*.jsonl`, not hidden (a dotfile is still being written)."""
    return (
        name.endswith(DELIVERY_SUFFIX)
        and len(name) > len(DELIVERY_SUFFIX)
        and not name.startswith(".")
        and "/" not in name
    )


def ready_deliveries(files: Collection[str], rule: ReadyRule) -> list[str]:
    """The deliveries among the regular `files` of the directory that may be read now, in name
    order (a dated name loads in date order)."""
    ready = [name for name in files if is_delivery_name(name)]
    if rule is ReadyRule.marker:
        ready = [name for name in ready if marker_of(name) in files]
    return sorted(ready)


def free_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `stem.N.jsonl` with the first N that neither it nor its reason file uses."""

    def free(candidate: str) -> bool:
        return candidate not in taken and f"{candidate}{REASON_SUFFIX}" not in taken

    if free(name):
        return name
    stem, suffix = (
        (name[: -len(DELIVERY_SUFFIX)], DELIVERY_SUFFIX)
        if name.endswith(DELIVERY_SUFFIX)
        else (name, "")
    )
    n = 1
    while not free(f"{stem}.{n}{suffix}"):
        n += 1
    return f"{stem}.{n}{suffix}"


def reason_name(name: str) -> str:
    return f"{name}{REASON_SUFFIX}"


def not_utf8(line: int) -> str:
    return f"line {line} is not UTF-8"


def cannot_read(error: str) -> str:
    """An OS error's class name only: its message could carry the path or more."""
    return f"the file cannot be read ({error})"


class DeliveryCheck:
    """Reads a delivery's lines as they come (raw bytes, line by line) and says whether the file
    can be read at all: every line UTF-8, at least one line a JSON object. Single bad lines of a
    readable file are not its concern: identify dead-letters each with its reason."""

    def __init__(self) -> None:
        self.lines = 0
        self.objects = 0
        self._bad_line: int | None = None

    def line(self, raw: bytes) -> None:
        self.lines += 1
        if self._bad_line is not None:
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._bad_line = self.lines
            return
        if self.objects or not text.strip():
            return
        try:
            parsed = json.loads(text)
        except ValueError:
            return
        if isinstance(parsed, dict):
            self.objects += 1

    def reason(self) -> str | None:
        """Why the file cannot be read, or None when it can."""
        if self._bad_line is not None:
            return not_utf8(self._bad_line)
        if not self.objects:
            return NOT_AN_OBJECT
        return None


def check(lines: Iterable[bytes]) -> str | None:
    """Why these lines cannot be read as a delivery, or None."""
    checker = DeliveryCheck()
    for raw in lines:
        checker.line(raw)
    return checker.reason()


class Outcome(StrEnum):
    loaded = "loaded"
    skipped = "skipped"
    quarantined = "quarantined"


@dataclass(frozen=True)
class Taken:
    """What became of one delivery file."""

    outcome: Outcome
    name: str  # the name it arrived under
    moved_to: str | None = None  # its name in done/ or quarantine/ (None: nothing left to move)
    records: int = 0
    reason: str | None = None  # quarantined: why
    earlier_name: str | None = None  # skipped: the name the same content was loaded under
    earlier_at: datetime | None = None  # skipped: when it was loaded
    reloaded: bool = False  # loaded again after a load that was interrupted

    def line(self) -> str:
        """One line for the operator (names and counts, never content)."""
        if self.outcome is Outcome.loaded:
            again = " (again: its earlier load was interrupted)" if self.reloaded else ""
            return f"{self.name}: loaded {self.records} records{again}"
        if self.outcome is Outcome.skipped:
            return f"{self.name}: {skipped_text(self.earlier_at, self.earlier_name)}"
        return f"{self.name}: quarantined: {self.reason}"


def skipped_text(at: datetime | None, name: str | None) -> str:
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "an earlier run"
    return f"skipped: the same content was loaded on {when} as {name}"


@dataclass
class DirectoryStatus:
    """What the watcher of one directory has done since the process started."""

    directory: str
    feed: str
    loaded: int = 0
    skipped: int = 0
    quarantined: int = 0
    last_loaded: str | None = None
    last_loaded_at: datetime | None = None
    last_quarantine_reason: str | None = None
    last_scan_at: datetime | None = None
    last_error: str | None = None  # the last scan that failed (an error class, e.g. Kafka down)

    def note(self, taken: Taken, at: datetime) -> None:
        if taken.outcome is Outcome.loaded:
            self.loaded += 1
            self.last_loaded, self.last_loaded_at = taken.name, at
        elif taken.outcome is Outcome.skipped:
            self.skipped += 1
        else:
            self.quarantined += 1
            self.last_quarantine_reason = taken.reason

    def snapshot(self) -> dict[str, object]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "directory": self.directory, "feed": self.feed, "loaded": self.loaded,
            "skipped": self.skipped, "quarantined": self.quarantined,
            "last_loaded": self.last_loaded, "last_loaded_at": iso(self.last_loaded_at),
            "last_quarantine_reason": self.last_quarantine_reason,
            "last_scan_at": iso(self.last_scan_at), "last_error": self.last_error,
        }  # fmt: skip
