"""The measures service seals free text with the youth's data key from memory (one keyring read per
youth, not one per command), and its views open it with the key as the keyring holds it now: a key
retention destroyed opens nothing from that moment, whatever the process still holds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg
import pytest

from services.measures.adapters.store import MeasuresApplication
from services.measures.domain import MeasuresCase
from shared.casework.commands import take_in_identify_batch
from shared.contracts.events import YouthIdentified
from shared.crypto import KEYRING_DDL, TenantKeys
from shared.eventstore import eventsourcing_env
from shared.free_text import opener, plan_revision_shown
from tests.conftest import RunningInfra

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[MeasuresApplication]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(KEYRING_DDL)
    application = MeasuresApplication(eventsourcing_env(infra.database_url, schema))
    application.tenant_keys = TenantKeys("integration-master-key-0123456789")
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def keyring_rows(database_url: str, youth: uuid.UUID) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM keyring.youth_keys WHERE youth_id = %s", (youth,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_sealing_reads_the_key_once_and_views_see_its_destruction_at_once(
    app: MeasuresApplication, infra: RunningInfra
) -> None:
    youth = uuid.uuid4()
    take_in_identify_batch(
        app, [YouthIdentified(event_id=uuid.uuid4(), tenant="0180", youth_id=youth, occurred_at=NOW,
                         recorded_at=NOW, actor="system:identify", correlation_id=uuid.uuid4(),
                         scope_episode_id=uuid.uuid4(), entered_on=date(2026, 1, 15),
                         scope_ends_on=date(2027, 5, 1), rule_version="r", facts={})],
        "identify", 0, 1,
    )  # fmt: skip

    def revise(case: MeasuresCase) -> int:
        return case.revise_plan(
            valid_from=date(2026, 3, 2), goal="MålIMinnet", mapping={}, efforts=[],
            follow_up_on=None, evaluation_on=None, actor="user:anna",
            correlation_id=uuid.uuid4(), sealer=app.sealer(case.tenant, case.id),
        )  # fmt: skip

    assert app.command(youth, "0180", revise) == 1
    assert keyring_rows(infra.database_url, youth) == 1, "the key made for the youth"
    key = app.stored_data_key("0180", youth)
    assert key is not None
    revision = app.case_of(youth, "0180").plan_revisions[0]
    assert plan_revision_shown(revision, opener(key, "0180", youth))["goal"] == "MålIMinnet"

    # Retention destroys the key: the views read the keyring afresh and say `redacted` ...
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM keyring.youth_keys WHERE youth_id = %s", (youth,))
    assert app.stored_data_key("0180", youth) is None
    gone = plan_revision_shown(revision, opener(None, "0180", youth))
    assert (gone["text"], gone["goal"]) == ("redacted", None)
    # ... while sealing took the key from memory: a second command read no keyring row (none was
    # made again), the key stays only until the cache's age bound.
    assert app.command(youth, "0180", revise) == 2
    assert keyring_rows(infra.database_url, youth) == 0, "sealed with the key held in memory"
