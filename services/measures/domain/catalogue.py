"""A municipality's measure catalogue, and the consortium's partner offerings every municipality
of the deployment shares. The standard measures come from the `measure-type` code list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.casework.domain import CommandRefused

_CATALOGUE_NAMESPACE = uuid.UUID("2e8b6d14-0c9f-4a73-b5e1-7f3a9c2d6b08")
CONSORTIUM = "consortium"


class MeasureCatalogue(Aggregate):
    """A municipality's measure catalogue, or (owner 'consortium') the partner offerings every
    municipality of the deployment shares."""

    # Stored events name their class by topic: the topics stay those recorded before the domain
    # became a package (`services.measures.domain` exports the class).
    __module__ = "services.measures.domain"

    @staticmethod
    def create_id(owner: str) -> uuid.UUID:
        return uuid.uuid5(_CATALOGUE_NAMESPACE, owner)

    @event("Created")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.entries: dict[str, dict[str, Any]] = {}

    @event("EntryDefined")
    def define(
        self, code: str, name: str, description: str | None, provider: str | None, actor: str
    ) -> None:
        self.entries[code] = {
            "code": code,
            "name": name,
            "description": description,
            "provider": provider,
            "retired": False,
        }

    @event("EntryRetired")
    def retire(self, code: str, actor: str) -> None:
        self.entries[code]["retired"] = True


def offerable(
    standard: Mapping[str, str],
    consortium: MeasureCatalogue | None,
    municipality: MeasureCatalogue | None,
) -> dict[str, dict[str, Any]]:
    """The measures a municipality can offer: the standard ones (code → name), the consortium's
    partner offerings, then the municipality's own; an entry overrides one of the same code before
    it, and a retired entry of the consortium's or the municipality's own leaves its code out."""
    entries: dict[str, dict[str, Any]] = {
        code: {"code": code, "name": name, "description": None, "provider": None,
               "source": "standard"}
        for code, name in standard.items()
    }  # fmt: skip
    for catalogue, source in ((consortium, "consortium"), (municipality, "municipality")):
        for code, entry in (catalogue.entries if catalogue else {}).items():
            if entry["retired"]:
                entries.pop(code, None)
            else:
                entries[code] = {k: v for k, v in entry.items() if k != "retired"} | {
                    "source": source
                }
    return entries


def check_retirable(catalogue: MeasureCatalogue, code: str, shared: bool) -> None:
    """Only an active entry of the catalogue itself is retired (a standard measure is not)."""
    entry = catalogue.entries.get(code)
    if entry is None or entry["retired"]:
        owner = "consortium" if shared else "municipality"
        raise CommandRefused("code", f"not an active entry of the {owner}'s own catalogue")


def check_offerable(entries: Mapping[str, Any], code: str) -> None:
    """A measure is offered only of a type the municipality can offer (`offerable`)."""
    if code not in entries:
        raise CommandRefused("measure_type", "not in the municipality's measure catalogue")


def catalogue_owner(tenant: str, shared: bool) -> str:
    """Whose catalogue an entry is kept in: the consortium's (a partner offering) or the
    municipality's own."""
    return CONSORTIUM if shared else tenant
