"""Versioned code lists as data (JSON beside this module), not enums in code.

A recorded code carries the version of the list it was coded in, so a later version never changes
what an old record meant. `sensitive-keywords.json` is the maintained list behind free-text warnings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class CodeListVersion:
    name: str
    version: str
    valid_from: date
    codes: dict[str, str]  # code → Swedish label


@cache
def versions(name: str) -> tuple[CodeListVersion, ...]:
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return tuple(
        sorted(
            (
                CodeListVersion(
                    name, v["version"], date.fromisoformat(v["valid_from"]), dict(v["codes"])
                )
                for v in data["versions"]
            ),
            key=lambda v: v.valid_from,
        )
    )


def code_list(name: str, on: date | None = None, version: str | None = None) -> CodeListVersion:
    """The version in force on `on` (today's latest when None), or the named `version`."""
    known = versions(name)
    if version is not None:
        for candidate in known:
            if candidate.version == version:
                return candidate
        raise ValueError(f"code list {name} has no version {version!r}")
    in_force = [v for v in known if on is None or v.valid_from <= on]
    if not in_force:
        raise ValueError(f"code list {name} has no version in force on {on}")
    return in_force[-1]


@cache
def _sensitive_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    data = json.loads((HERE / "sensitive-keywords.json").read_text(encoding="utf-8"))
    return tuple(
        (category, re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")", re.I))
        for category, words in data["categories"].items()
    )


def sensitive_categories(text: str) -> list[str]:
    """Categories of sensitive data the text seems to mention (names only, never the words)."""
    return [category for category, pattern in _sensitive_patterns() if pattern.search(text)]


def free_text_warnings(fields: dict[str, str | None]) -> list[str]:
    """Warnings for free-text fields that look like sensitive data: `field: reason` (no text)."""
    warnings = []
    for field, text in fields.items():
        categories = sensitive_categories(text or "")
        if categories:
            warnings.append(
                f"{field}: may contain sensitive personal data ({', '.join(categories)}); "
                "documentation under the activity responsibility must not hold it"
            )
    return warnings
