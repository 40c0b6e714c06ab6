"""What the measures unit tests share: a youth in scope of municipality 0180, its data key, and
the caseworker who acts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.measures.domain import MeasuresCase
from shared.contracts.events import YouthIdentified
from shared.crypto import YouthSealer, new_data_key

ACTOR = "user:anna"
TENANT = "0180"
YOUTH = uuid.uuid4()
DATA_KEY = new_data_key()
SEALER = YouthSealer(DATA_KEY, TENANT, YOUTH)
NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def identified(youth: uuid.UUID = YOUTH, entered_on: date = date(2026, 3, 2)) -> YouthIdentified:
    return YouthIdentified(
        event_id=uuid.uuid4(), tenant=TENANT, youth_id=youth, occurred_at=NOW, recorded_at=NOW,
        actor="system:identify", correlation_id=uuid.uuid4(), scope_episode_id=uuid.uuid4(),
        entered_on=entered_on, scope_ends_on=date(2027, 5, 1), rule_version="kaa-2018-07-01",
        facts={},
    )  # fmt: skip


def measures_case(youth: uuid.UUID = YOUTH) -> MeasuresCase:
    """The youth's measures case, in scope since 2 March 2026."""
    case = MeasuresCase(youth_id=youth, tenant=TENANT)
    case.on_identify_event(identified(youth))
    return case
