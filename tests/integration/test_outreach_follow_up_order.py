"""Follow-ups taken in from the measures service in the order published, on the real PostgreSQL: a
follow-up closed and then due again within one batch (outreach catching up after a stop, a new
replica) stays on the worklist."""

from __future__ import annotations

import uuid
from datetime import date

from services.outreach.commands import WorklistQuery
from shared.contracts.events import FollowUpCancelled, FollowUpCompleted, FollowUpScheduled
from tests.integration.outreach_support import ANNA, Outreach, envelope, outreach

__all__ = ["outreach"]  # the fixture
DUE = date(2026, 3, 10)


async def due(outreach: Outreach, day: date) -> list[uuid.UUID | None]:
    query = WorklistQuery("follow_up")
    _, items = await outreach.on(day).worklist(ANNA, query)
    assert all(item.why == {"code": "follow_up", "subject": "plan_follow_up"} for item in items)
    return [item.follow_up_id for item in items]


async def test_closed_then_due_again_in_one_batch_stays_due(outreach: Outreach) -> None:
    youth = outreach.identify()
    cancelled, completed = uuid.uuid4(), uuid.uuid4()
    batch = []
    for follow_up, closing in (
        (cancelled, FollowUpCancelled(**envelope(youth), follow_up_id=cancelled,
                                      cancelled_on=date(2026, 3, 3))),
        (completed, FollowUpCompleted(**envelope(youth), follow_up_id=completed,
                                      completed_on=date(2026, 3, 3))),
    ):  # fmt: skip
        scheduled = FollowUpScheduled(**envelope(youth), follow_up_id=follow_up,
                                      subject="plan_follow_up", due_on=DUE)  # fmt: skip
        again = FollowUpScheduled(**envelope(youth), follow_up_id=follow_up,
                                  subject="plan_follow_up", due_on=DUE)  # fmt: skip
        batch += [scheduled, closing, again]
    outreach._take("measures", batch)
    assert sorted(map(str, await due(outreach, DUE))) == sorted([str(cancelled), str(completed)])


async def test_due_then_closed_in_one_batch_is_closed(outreach: Outreach) -> None:
    youth = outreach.identify()
    follow_up = uuid.uuid4()
    outreach._take("measures", [
        FollowUpScheduled(**envelope(youth), follow_up_id=follow_up, subject="plan_follow_up",
                          due_on=DUE),
        FollowUpCancelled(**envelope(youth), follow_up_id=follow_up, cancelled_on=DUE),
    ])  # fmt: skip
    assert await due(outreach, DUE) == []
