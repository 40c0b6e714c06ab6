"""identify's event store on the real PostgreSQL opens the tables it was first made with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from services.identify.adapters.store import IdentifyStore
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra


@pytest.fixture
def schema(infra: RunningInfra) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield name
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


def test_identify_keeps_its_first_table_names(infra: RunningInfra, schema: str) -> None:
    store = IdentifyStore(eventsourcing_env(infra.database_url, schema), master_key="k" * 32)
    try:
        with psycopg.connect(infra.database_url) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                )
            }
        assert {"identifyapplication_events", "identifyapplication_tracking"} <= tables
        assert not any(name.startswith("identifystore") for name in tables)
    finally:
        store.close()
