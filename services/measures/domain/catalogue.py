"""A municipality's measure catalogue, and the consortium's partner offerings every municipality
of the deployment shares. The standard measures come from the `measure-type` code list."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

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
