"""SCB's codes: the versioned `scb-report` code list that takes the register's codes to the file's.

Codes come from the list (shared/codelists/scb-report.json, read by `adapters/scb_codes.py` and
passed in), never from enums here. A period is coded in the version in force on its first day; a
register code without an entry falls back to the map's fallback (reported as a warning), or has no
code at all when the map has no fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

CODE_LIST = "scb-report"


@dataclass(frozen=True)
class ScbCodes:
    """One version of the code list: the file's format and, per kind, the register → file map."""

    version: str
    valid_from: date
    file_format: str
    format_version: str
    maps: Mapping[str, Mapping[str, Any]]

    def code(self, kind: str, value: str | None) -> tuple[str | None, bool]:
        """The file's code for a register code, and whether it fell back (no entry)."""
        table = self.maps[kind]
        entry = table["codes"].get(value if value is not None else "none")
        if entry is not None:
            return str(entry[0]), False
        fallback = table["fallback"]
        return (str(fallback) if fallback is not None else None), True

    @property
    def header(self) -> str:
        """`file_format;format_version`, as the file's first line and the export log name it."""
        return f"{self.file_format};{self.format_version}"


def parse_versions(data: Mapping[str, Any]) -> tuple[ScbCodes, ...]:
    """The versions of a code list document, oldest first."""
    return tuple(
        sorted(
            (
                ScbCodes(
                    v["version"],
                    date.fromisoformat(v["valid_from"]),
                    v["file_format"],
                    v["format_version"],
                    v["maps"],
                )
                for v in data["versions"]
            ),
            key=lambda v: v.valid_from,
        )
    )


def in_force(versions: Sequence[ScbCodes], on: date) -> ScbCodes:
    """The latest of `versions` (oldest first) valid from `on` or earlier."""
    valid = [v for v in versions if v.valid_from <= on]
    if not valid:
        raise ValueError(f"period: no {CODE_LIST} code list is in force on {on}")
    return valid[-1]
