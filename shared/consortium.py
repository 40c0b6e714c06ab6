"""A consortium as configuration: the member municipalities one deployment serves.

`KAA_CONSORTIUM_FILE` names a JSON document (see `deploy/consortium.example.json`):

    {"name": "...", "members": [{"kommunkod": "0180", "name": "Stockholm",
      "scope_policy": {...}, "retention_days": 730}, ...]}

Each member is a municipality and the controller of its own register. The document gives the
served kommunkoder (`KAA_TENANTS`), each one's scope policy (`KAA_TENANT_POLICIES`, identify) and
retention period (`KAA_RETENTION_DAYS`); the municipalities' casework time rules are events
(`PUT /v1/tenant-rules`), and shared reference data (the partner and measure catalogue) lives at
consortium level in the measures service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.envelope import Kommunkod
from shared.contracts.validation import load_document


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kommunkod: Kommunkod
    name: str = Field(min_length=1, max_length=100)
    scope_policy: dict[str, Any] = Field(default_factory=dict)
    retention_days: int | None = Field(default=None, ge=30, le=3650)


class Consortium(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    members: list[Member] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_member_once(self) -> Consortium:
        codes = [m.kommunkod for m in self.members]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"members: {', '.join(twice)} listed more than once")
        return self


def load(path: Path) -> Consortium:
    """The consortium document, or a ValueError naming the field and the problem."""
    return load_document(path, Consortium, "consortium_file")
