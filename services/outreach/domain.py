"""The outreach case: contact attempts with a youth (kontaktförsök), DOMAIN.md sections 4 and 8."""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import event

from shared.cases import ScopedYouthCase


class OutreachCase(ScopedYouthCase):
    @event("Opened")
    def __init__(self, youth_id: uuid.UUID, tenant: str) -> None:
        self._start_case(tenant)
        self.contact_attempt_ids: tuple[str, ...] = ()

    def attempt_contact(
        self,
        contact_attempt_id: uuid.UUID,
        channel: str,
        outcome: str,
        attempted_at: datetime,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> bool:
        """Record a contact attempt; False when this attempt id was already recorded (a retry)."""
        if str(contact_attempt_id) in self.contact_attempt_ids:
            return False
        self._contact_attempted(
            self.tenant,
            str(contact_attempt_id),
            channel,
            outcome,
            attempted_at,
            actor,
            correlation_id,
        )
        return True

    @event("ContactAttempted")
    def _contact_attempted(
        self,
        tenant: str,
        contact_attempt_id: str,
        channel: str,
        outcome: str,
        attempted_at: datetime,
        actor: str,
        correlation_id: uuid.UUID,
    ) -> None:
        self.contact_attempt_ids = (*self.contact_attempt_ids, contact_attempt_id)
