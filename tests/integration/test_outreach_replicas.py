"""Two outreach processes on one database: what one records is never taken back in the worklists'
rows by the other's identify batch, which held the case from before."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import AttemptContact
from shared.casework.commands import CaseRuntime
from shared.contracts.events import YouthIdentified
from shared.crypto import TenantKeys
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra
from tests.integration.outreach_support import ANNA, MASTER_KEY, Outreach, envelope, outreach

__all__ = ["outreach"]  # the fixture

DAY = date(2026, 3, 2)


async def test_an_identify_batch_on_a_stale_copy_keeps_what_another_replica_recorded(
    outreach: Outreach, infra: RunningInfra
) -> None:
    youth, other = outreach.identify(), outreach.identify()  # both held by this replica at v1
    second = OutreachApplication(eventsourcing_env(infra.database_url, outreach.schema))
    second.tenant_keys = TenantKeys(MASTER_KEY)
    runtime = CaseRuntime[OutreachApplication]()
    runtime.start(second, outreach.pool, outreach.schema)
    try:
        replica = Outreach(second, runtime, outreach.schema, outreach.pool)
        attempt = AttemptContact(youth, "sms", "reached", datetime(2026, 3, 2, 9, tzinfo=UTC))
        await replica.on(DAY).attempt_contact(ANNA, attempt)
        row = await outreach.row(youth)
        assert row is not None
        assert row["last_attempt_on"] == DAY
        # This replica's next identify batch: the youth's identification again (a redelivery:
        # nothing new for that case) beside a new youth's.
        again = YouthIdentified(
            **envelope(youth), scope_episode_id=outreach.episodes[youth],
            entered_on=date(2026, 1, 15), scope_ends_on=date(2027, 5, 1), rule_version="r",
            facts={},
        )  # fmt: skip
        outreach._take("identify", [again])
        newcomer = outreach.identify()
        row = await outreach.row(youth)
        assert row is not None
        assert row["last_attempt_on"] == DAY, "the other replica's attempt is not taken back"
        assert row["first_attempt_on"] == DAY
        assert await outreach.row(newcomer) is not None
        assert await outreach.row(other) is not None
    finally:
        second.close()
