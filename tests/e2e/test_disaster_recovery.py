"""The disaster recovery drill, as an operator runs it (deploy/RUNBOOK.md): the register's database
schema is lost, `kaa register rebuild` makes it again from the event log, its content hash equals
the one written down before, and the register service starts on it and answers, with the
isolation between municipalities back. What the log cannot restore is said, not silently lost."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from kaa.deployment import Deployment
from shared.isolation import reader_role
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, kaa, running, sql
from tests.e2e.test_pipeline import load_municipality

YOUTHS = 300  # the 5,000 is the benchmark's size; the drill is the same at any size


@pytest.fixture
def deployment(infra: RunningInfra) -> Iterator[Deployment]:
    with running(infra, feed_sources=None) as made:
        yield made


def casework(deployment: Deployment, youths: list[dict[str, Any]], offers: int) -> None:
    """Caseworkers' contacts and measures on youths in scope (what the register projects)."""
    outreach = deployment.client("outreach", "0180", "caseworker")
    measures = deployment.client("measures", "0180", "caseworker")
    for youth in youths:
        response = outreach.post(
            f"/v1/youths/{youth['youth_id']}/contact-attempts",
            json={"channel": "phone", "outcome": "reached",
                  "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
    for youth in youths[:offers]:
        response = measures.post(
            f"/v1/youths/{youth['youth_id']}/measure-offers",
            json={"measure_type": "internship", "offered_on": TODAY.isoformat()},
        )
        assert response.status_code == 201, response.text
    asyncio.run(deployment.drained())


def content_hash(deployment: Deployment, *expect: str) -> str:
    done = kaa(deployment, "register", "fingerprint", *expect)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"content hash of register: ([0-9a-f]{32})", done.stdout)
    assert found, done.stdout
    return found.group(1)


async def protection(deployment: Deployment) -> tuple[int, bool]:
    """The tenant policies on the register's tables, and whether its reader role may read them."""
    conn = await asyncpg.connect(deployment.database_url)
    try:
        policies = await conn.fetchval(
            "SELECT count(*) FROM pg_policies WHERE schemaname = 'register' "
            "AND policyname = 'tenant_isolation'"
        )
        role = reader_role(deployment.database_url, "register")
        readable = await conn.fetchval(
            "SELECT to_regclass('register.youths') IS NOT NULL "
            "AND has_table_privilege($1, 'register.youths', 'SELECT')",
            role,
        )
        return int(policies), bool(readable)
    finally:
        await conn.close()


def test_the_register_schema_dropped_is_rebuilt_from_the_log_equal_to_before_and_serves(
    deployment: Deployment, tmp_path: Path
) -> None:
    load_municipality(deployment, tmp_path, YOUTHS, seed=20)
    register = deployment.client("register", "0180", "caseworker")
    in_scope = register.get("/v1/youths", params={"status": "in_scope", "limit": 10}).json()
    casework(deployment, in_scope["items"], offers=3)
    youth = in_scope["items"][0]["youth_id"]
    opened = register.get(f"/v1/youths/{youth}/identity").json()  # in the access log
    assert opened["given_name"], "the youth's sealed details open with the deployment's key"
    coordinator = deployment.client("register", "0180", "coordinator")
    exported = coordinator.post("/v1/scb/exports", params={"period": "2026H1", "force": "true"})
    assert exported.status_code == 201, exported.text
    summary = register.get("/v1/summary").json()
    before = content_hash(deployment)
    assert asyncio.run(protection(deployment))[0] > 0

    # The disaster: the register's schema is lost (the service stopped first, as the runbook says).
    assert deployment.platform is not None
    deployment.platform.processes["register"].stop()
    asyncio.run(sql(deployment, "DROP SCHEMA register CASCADE"))
    assert asyncio.run(protection(deployment)) == (0, False), "policies and grants went with it"

    rebuilt = kaa(deployment, "register", "rebuild")
    said = rebuilt.stdout
    assert rebuilt.returncode == 0, said + rebuilt.stderr
    assert "the live register (schema register) was missing: rebuilt from the topics" in said
    assert "rebuilt into register:" in said
    assert "not restorable from the log (only the database and its backups hold them):" in said
    kept = dict(re.findall(r"  [^\n]+?: ([a-z_]+\.[a-z_]+), (\d+ rows? kept|GONE[^\n]*)", said))
    assert kept["access_log.entries"] != "0 rows kept", "the identity read above is logged"
    assert kept["register_exports.events"] == "1 row kept", "the SCB export above"
    assert kept["keyring.youth_keys"].endswith("kept")
    assert kept["register.dead_events"].startswith("GONE"), "operators' discards went with it"
    assert content_hash(deployment, "--expect", before) == before

    # The register service starts on the rebuilt register, protected again, and answers.
    deployment.platform.restart("register")
    policies, readable = asyncio.run(protection(deployment))
    assert policies > 0, "the tenant policies are back"
    assert readable, "the reader role reads the rebuilt register"
    assert register.get("/v1/summary").json() == summary
    assert register.get(f"/v1/youths/{youth}/identity").json() == opened
    # It reads on from where the rebuild read to: a new contact arrives once.
    casework(deployment, in_scope["items"][:1], offers=0)
    after = register.get("/v1/summary").json()
    assert after["contact_attempts"] == summary["contact_attempts"] + 1
    assert after["known"] == summary["known"], "nothing applied twice"
