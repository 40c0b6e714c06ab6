"""The measure catalogue on the real event store: a municipality's own entries and the
consortium's partner offerings are kept as events, each municipality sees the standard measures,
the consortium's and its own, and a retired entry can no longer be offered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import cast

import asyncpg
import psycopg
import pytest

from services.measures.adapters.store import MeasuresApplication
from services.measures.commands import DefineEntry, MeasuresCommands
from services.measures.domain.catalogue import check_offerable
from shared.casework.commands import Actor, CaseClock, CaseRuntime
from shared.casework.domain import CommandRefused
from shared.eventstore import eventsourcing_env
from tests.conftest import RunningInfra


@pytest.fixture
def app(infra: RunningInfra) -> Iterator[MeasuresApplication]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    application = MeasuresApplication(eventsourcing_env(infra.database_url, schema))
    yield application
    application.close()
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def commands(app: MeasuresApplication) -> MeasuresCommands:
    """The use cases on the store (the catalogue's use no read pool)."""
    runtime = CaseRuntime[MeasuresApplication]()
    runtime.start(app, cast(asyncpg.Pool, None), "measures")
    return MeasuresCommands(runtime, CaseClock())


def define(app: MeasuresApplication, tenant: str, code: str, shared: bool = False) -> None:
    entry = DefineEntry(code, name=f"{code} ({tenant})", provider="Partner AB", shared=shared)
    defined = asyncio.run(commands(app).define_entry(Actor(tenant, "user:coordinator"), entry))
    assert (defined["code"], defined["name"]) == (code, f"{code} ({tenant})")


def retire(app: MeasuresApplication, tenant: str, code: str) -> None:
    asyncio.run(commands(app).retire_entry(Actor(tenant, "user:coordinator"), code))


def check_measure_type(app: MeasuresApplication, tenant: str, code: str) -> None:
    check_offerable(app.catalogue(tenant), code)


def test_each_municipality_sees_its_own_entries_and_the_consortium_s(
    app: MeasuresApplication,
) -> None:
    define(app, "0180", "mentor")
    define(app, "0180", "job_coach", shared=True)
    own, other = app.catalogue("0180"), app.catalogue("0181")
    assert (own["mentor"]["source"], own["job_coach"]["source"]) == ("municipality", "consortium")
    assert "mentor" not in other, "another municipality's own entry is its own"
    assert other["job_coach"]["provider"] == "Partner AB"
    assert own["internship"]["source"] == "standard"
    check_measure_type(app, "0181", "job_coach")
    with pytest.raises(CommandRefused) as refused:
        check_measure_type(app, "0181", "mentor")
    assert refused.value.field == "measure_type"


def test_a_retired_entry_is_no_longer_offered_and_is_retired_once(
    app: MeasuresApplication,
) -> None:
    define(app, "0180", "mentor")
    retire(app, "0180", "mentor")
    assert "mentor" not in app.catalogue("0180")
    with pytest.raises(CommandRefused) as again:
        retire(app, "0180", "mentor")
    assert (again.value.field, again.value.conflict) == ("code", False)
    with pytest.raises(CommandRefused):
        check_measure_type(app, "0180", "mentor")
    define(app, "0180", "mentor")  # defined anew: offered again
    check_measure_type(app, "0180", "mentor")
