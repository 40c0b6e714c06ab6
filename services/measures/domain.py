"""The measures case: measures (åtgärder) offered to a youth; participation is always voluntary."""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.domain import event

from shared.cases import ScopedYouthCase


class MeasuresCase(ScopedYouthCase):
    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)
        self.measure_ids: tuple[str, ...] = ()

    def offer_measure(
        self,
        measure_id: uuid.UUID,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        """Record an offer; False when this measure id was already recorded (a retry)."""
        if str(measure_id) in self.measure_ids:
            return False
        self._measure_offered(
            self.tenant,
            str(measure_id),
            measure_type,
            offered_on,
            can_start_on,
            actor,
            correlation_id,
        )
        return True

    @event("MeasureOffered")
    def _measure_offered(
        self,
        tenant: str,
        measure_id: str,
        measure_type: str,
        offered_on: date,
        can_start_on: date | None,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.measure_ids = (*self.measure_ids, measure_id)
