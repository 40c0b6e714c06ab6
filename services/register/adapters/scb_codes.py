"""The `scb-report` code list shipped with kaa (shared/codelists/scb-report.json), read once: the
versions the SCB report codes a period in (`domain/scb/codes.py` chooses and applies them)."""

from __future__ import annotations

import json
from datetime import date
from functools import cache

from services.register.domain.scb.codes import CODE_LIST, ScbCodes, in_force, parse_versions
from shared.codelists import HERE


@cache
def code_versions() -> tuple[ScbCodes, ...]:
    """The versions of the code list shipped with kaa, oldest first."""
    return parse_versions(json.loads((HERE / f"{CODE_LIST}.json").read_text(encoding="utf-8")))


def scb_codes(on: date) -> ScbCodes:
    """The shipped code list's version in force at the start of a period."""
    return in_force(code_versions(), on)
