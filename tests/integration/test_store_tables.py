"""identify's event store on the real PostgreSQL opens the tables it was first made with."""

from __future__ import annotations

import psycopg

from services.identify.adapters.store import IdentifyStore
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra


def test_identify_keeps_its_first_table_names(infra: RunningInfra, db_schema: str) -> None:
    store = IdentifyStore(eventsourcing_env(infra.database_url, db_schema), master_key="k" * 32)
    try:
        with psycopg.connect(infra.database_url) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (db_schema,),
                )
            }
        assert {"identifyapplication_events", "identifyapplication_tracking"} <= tables
        assert not any(name.startswith("identifystore") for name in tables)
    finally:
        store.close()
