"""The sources a municipality is connected to, as configuration: its SS 12000 organisers.

`KAA_CONNECTORS_FILE` names a JSON document (see `deploy/connectors.example.json`):

    {"0180": {"organisers": [{"id": "stockholm-gy", "name": "Stockholms stad, gymnasieskolor",
      "base_url": "https://ss12000.example.se/v2", "token_url": "https://idp.example.se/token",
      "client_id": "kaa-0180", "school_types": ["GY", "GYS"]}, ...]}, ...}

Each organiser (huvudman) runs a student information system exposing SS 12000. The connect
service reads each one for its municipality and publishes what it reads to the SS 12000 feed
under the organiser's own source name, `ss12000.<id>`; identify waits for every organiser's
watermark in place of the single `ss12000` source. The client secret is never in the file: it is
read from the environment variable `client_secret_env` names (by default
`KAA_SS12000_SECRET_<ID>`, the id upper-cased with `-` as `_`) and never logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from shared.contracts.envelope import Kommunkod
from shared.contracts.feeds import SCHOOL_TYPES
from shared.contracts.validation import load_document

LEGACY_SOURCE = "ss12000"  # the SS 12000 feed as files load it: replaced by the organisers


class Organiser(BaseModel):
    """One school organiser's SS 12000 API, as a municipality reads it."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="Short name, unique.")
    name: str = Field(min_length=1, max_length=200, description="As the operator knows it.")
    base_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500)
    token_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=500,
        description="OAuth2 client-credentials token endpoint; unset: the API takes no token.",
    )
    client_id: str | None = Field(default=None, max_length=200)
    client_secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,99}$")
    scope: str | None = Field(default=None, max_length=500)
    school_types: list[str] = Field(
        default_factory=list, description="Only persons enrolled in these school types (all: [])."
    )
    school_units: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="Only persons enrolled at these school units (all: [])."
    )
    page_size: int = Field(default=500, ge=1, le=10_000)
    poll_interval: float = Field(
        default=900.0,
        ge=1,
        le=86_400,
        description="Seconds between deltas read without a callback.",
    )

    @field_validator("base_url", "token_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        """Credentials and personal data travel only encrypted (plain http on loopback alone)."""
        if value is not None and not value.startswith("https://"):
            host = urlsplit(value).hostname or ""
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError("must be https:// (plain http only on this machine's loopback)")
        return value

    @field_validator("school_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - SCHOOL_TYPES)
        if unknown:
            raise ValueError("unknown school type (not in SS 12000 Code_SchoolType)")
        return value

    @property
    def source(self) -> str:
        """The feed source name its records and watermarks carry."""
        return f"{LEGACY_SOURCE}.{self.id}"

    @property
    def secret_variable(self) -> str:
        return self.client_secret_env or "KAA_SS12000_SECRET_" + self.id.upper().replace("-", "_")

    def client_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The secret from the environment (None when the variable is unset)."""
        return (os.environ if environ is None else environ).get(self.secret_variable)


class Municipality(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organisers: list[Organiser] = Field(default_factory=list)


class Connectors(RootModel[dict[Kommunkod, Municipality]]):
    """Per kommunkod, what it is connected to."""

    def organisers(self, tenant: str) -> list[Organiser]:
        municipality = self.root.get(tenant)
        return list(municipality.organisers) if municipality else []

    def all(self) -> list[tuple[str, Organiser]]:
        """(tenant, organiser) for every connection, in the file's order."""
        return [(t, o) for t, m in self.root.items() for o in m.organisers]


def sources(default: Iterable[str], organisers: Iterable[Organiser]) -> tuple[str, ...]:
    """The sources a municipality waits for: `ss12000` stands for its organisers when it has any."""
    named = [o.source for o in organisers]
    out: list[str] = []
    for source in default:
        out.extend(named if source == LEGACY_SOURCE and named else [source])
    return tuple(dict.fromkeys(out))


def load(path: Path, tenants: Iterable[str] | None = None) -> Connectors:
    """The connectors document, or a ValueError naming the field and the problem (never a value)."""
    connectors = load_document(path, Connectors, "connectors_file")
    if tenants is not None:
        unknown = sorted(set(connectors.root) - set(tenants))
        if unknown:
            raise ValueError(f"connectors_file: {', '.join(unknown)} not served (KAA_TENANTS)")
    ids = [o.id for _, o in connectors.all()]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:  # an id names its feed source, and a person's enrolments are kept per source
        raise ValueError(
            f"connectors_file: organiser id {', '.join(twice)} used more than once (an id is "
            "unique in the file; one organiser read for two municipalities needs two ids)"
        )
    return connectors
