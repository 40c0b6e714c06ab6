"""A namespace separates topics and consumer groups, not the database: a database belongs to one
namespace, and a service of another namespace is refused before it touches a table (two
deployments in one database shared identify's event store)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from kaa.deployment import database_url_for
from shared.eventstore import NamespaceClash, claim_database, ensure_schema
from tests.conftest import RunningInfra


@pytest.fixture
def fresh_database(infra: RunningInfra) -> Iterator[str]:
    name = f"boundary_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_for(infra.database_url, name)
    finally:
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_belongs_to_the_first_namespace_that_claims_it(fresh_database: str) -> None:
    claim_database(fresh_database, "probe.")
    claim_database(fresh_database, "probe.")  # the same deployment again: fine
    ensure_schema(fresh_database, "identify", namespace="probe.")
    with pytest.raises(NamespaceClash) as caught:
        ensure_schema(fresh_database, "identify", namespace="")
    message = str(caught.value)
    assert "'probe.'" in message
    assert "KAA_NAMESPACE" in message
    assert "a database of its own" in message


def test_services_claim_with_the_namespace_of_their_settings(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """identify, outreach and measures create their schema through `ensure_schema` without
    naming the namespace: it is the one their settings read (`KAA_NAMESPACE`)."""
    monkeypatch.setenv("KAA_NAMESPACE", "team-a")
    ensure_schema(fresh_database, "outreach")
    monkeypatch.setenv("KAA_NAMESPACE", "team-b.")
    with pytest.raises(NamespaceClash, match=r"'team-a\.'"):
        ensure_schema(fresh_database, "measures")
    with psycopg.connect(fresh_database) as conn:
        schemas = {
            row[0] for row in conn.execute("SELECT schema_name FROM information_schema.schemata")
        }
    assert "outreach" in schemas
    assert "measures" not in schemas, "refused before anything was created"
