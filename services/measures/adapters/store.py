"""The measures service's event store: loads and saves the youths' cases (fed by identify, commanded
by caseworkers through the group-commit writer), the measure catalogues, the municipalities'
rules."""

from __future__ import annotations

from typing import Any

from services.measures.domain import CONSORTIUM, MeasureCatalogue, MeasuresCase
from services.measures.domain.catalogue import offerable
from shared.casework.adapters.store import CaseApplication
from shared.casework.domain import Rule
from shared.codelists import code_list

RULE_BOOK = {
    "reoffer_after_days": Rule(30, 1, 365, "Days after a decline until a re-offer is due."),
}


class MeasuresApplication(CaseApplication):
    case_class = MeasuresCase
    rule_book = RULE_BOOK

    def catalogue(self, tenant: str) -> dict[str, dict[str, Any]]:
        """The measures the municipality can offer (`catalogue.offerable`). Blocking."""
        return offerable(
            code_list("measure-type").codes,
            self.read(MeasureCatalogue.create_id(CONSORTIUM)),
            self.read(MeasureCatalogue.create_id(tenant)),
        )

    def catalogue_of(self, owner: str) -> MeasureCatalogue:
        """The owner's catalogue (a municipality's, or the consortium's), new if it has none."""
        catalogue: MeasureCatalogue | None = self.get_or_none(MeasureCatalogue.create_id(owner), {})
        return catalogue if catalogue is not None else MeasureCatalogue(owner)

    def save_catalogue(self, catalogue: MeasureCatalogue) -> None:
        self.save_tracked([catalogue], None, 0, 0)

    def catalogue_history(self, tenant: str) -> list[dict[str, Any]]:
        """Every change of the municipality's own catalogue and of the consortium's shared one
        (each an event), oldest first: when, who, which catalogue, the entry and whether it was
        added, changed or retired. Blocking."""
        history: list[dict[str, Any]] = []
        for owner, kind in ((tenant, "municipality"), (CONSORTIUM, "consortium")):
            known: set[str] = set()
            for stored in self.events.get(MeasureCatalogue.create_id(owner)):
                code = getattr(stored, "code", None)
                if code is None:  # the catalogue's creation: no entry changed
                    continue
                retired = not hasattr(stored, "name")
                change = "retired" if retired else ("changed" if code in known else "added")
                known.add(code)
                history.append({
                    "at": getattr(stored, "timestamp", None), "actor": getattr(stored, "actor", None),
                    "catalogue": kind, "change": change, "code": code,
                    **{k: getattr(stored, k, None) for k in ("name", "description", "provider")},
                })  # fmt: skip
        return sorted(history, key=lambda h: h["at"])
