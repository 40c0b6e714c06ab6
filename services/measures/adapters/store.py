"""The measures service's event store: the youths' cases (fed by identify, commanded by
caseworkers through the group-commit writer), the measure catalogues, the municipalities' rules."""

from __future__ import annotations

from typing import Any, cast

from services.measures.domain import CONSORTIUM, MeasureCatalogue, MeasuresCase
from services.measures.domain.catalogue import check_retirable, offerable
from shared.casework.adapters.store import CaseApplication
from shared.casework.domain import CommandRefused, Rule
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
            self.get_or_none(MeasureCatalogue.create_id(CONSORTIUM), {}),
            self.get_or_none(MeasureCatalogue.create_id(tenant), {}),
        )

    def check_measure_type(self, tenant: str, code: str) -> None:
        if code not in self.catalogue(tenant):
            raise CommandRefused("measure_type", "not in the municipality's measure catalogue")

    def define_entry(
        self,
        tenant: str,
        code: str,
        *,
        name: str,
        description: str | None,
        provider: str | None,
        shared: bool,
        actor: str,
    ) -> dict[str, Any]:
        owner = CONSORTIUM if shared else tenant

        def work() -> dict[str, Any]:
            catalogue = self._catalogue_of(owner)
            catalogue.define(code, name, description, provider, actor)
            self.save_tracked([catalogue], None, 0, 0)
            return self.catalogue(tenant)[code]

        return cast(dict[str, Any], self.retrying(work))

    def retire_entry(self, tenant: str, code: str, *, shared: bool, actor: str) -> None:
        owner = CONSORTIUM if shared else tenant

        def work() -> None:
            catalogue = self._catalogue_of(owner)
            check_retirable(catalogue, code, shared)
            catalogue.retire(code, actor)
            self.save_tracked([catalogue], None, 0, 0)

        self.retrying(work, refusals=(CommandRefused,))

    def _catalogue_of(self, owner: str) -> MeasureCatalogue:
        catalogue: MeasureCatalogue | None = self.get_or_none(MeasureCatalogue.create_id(owner), {})
        return catalogue if catalogue is not None else MeasureCatalogue(owner)
