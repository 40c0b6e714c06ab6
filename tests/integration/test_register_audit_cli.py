"""`kaa audit replay --youth-id` on real PostgreSQL, run as an operator runs it (a process with the
deployment's settings, its own database): the youth's timeline as the inspectors' HTTP route shows
it (`commands.replay.youth_read`), the words caseworkers wrote opened and their sealed forms not
printed, the reading in the access log with the route's purpose; a youth not in the register then
is an error naming the option.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from kaa.deployment import database_url_for
from services.register.adapters.database import create_pool, create_tables
from shared import access_log
from tests.conftest import RunningInfra
from tests.integration.extract_support import Extracts, Youth
from tests.integration.register_support import Register

MASTER = "register-test-master-key-0123456789"  # register_support.KEYS
SEALED = ("sealed_note", "sealed_text", "sealed_content", "in_error_sealed_note")


@pytest.fixture
def database(infra: RunningInfra) -> Iterator[str]:
    """A database of its own: the CLI reads the live register's schema."""
    name = f"audit_cli_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(infra.database_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield database_url_for(infra.database_url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def seeded(url: str, youth: Youth) -> None:
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        await create_tables(pool)
        await access_log.create(pool)
        await Extracts(Register(pool)).apply(
            youth, youth.identified(), *youth.outreach(), *youth.measures()
        )
    finally:
        await pool.close()


async def logged(url: str, youth: uuid.UUID) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT actor, purpose, what, service FROM access_log.entries WHERE youth_id = $1",
            youth,
        )
        return [dict(row) for row in rows]
    finally:
        await conn.close()


def kaa(infra: RunningInfra, url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
           "KAA_NAMESPACE": "audit-cli", "KAA_TENANTS": "0180", "KAA_MASTER_KEY": MASTER,
           "KAA_TOKEN_SECRET": "t" * 40, "KAA_PSEUDONYM_KEY": "p" * 40,
           "KAA_HOME": str(home)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "kaa", *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_the_cli_shows_a_youth_as_the_route_does_notes_opened_and_logged(
    infra: RunningInfra, database: str, tmp_path: Path
) -> None:
    youth = Youth()
    asyncio.run(seeded(database, youth))
    as_of = datetime.now(UTC).isoformat()
    done = kaa(infra, database, tmp_path, "audit", "replay", "--tenant", "0180",
               "--as-of", as_of, "--youth-id", str(youth.id))  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)["youth"]
    [fixed] = shown["corrections"]
    assert (fixed["note"], fixed["note_text"]) == ("Det var den fjärde", "open")
    [plan] = shown["plan_revisions"]
    assert (plan["goal"], plan["text"]) == ("Börja på komvux i höst", "open")
    [measure] = shown["measures"]
    assert (measure["content"], measure["text"]) == ("Praktik på Kafé Linden", "open")
    for sealed in SEALED:
        assert f'"{sealed}"' not in done.stdout, f"{sealed}: the sealed form is not printed"
    [entry] = asyncio.run(logged(database, youth.id))
    assert entry["actor"].startswith("cli:")
    assert (entry["purpose"], entry["service"]) == ("audit-replay", "kaa-cli")
    assert entry["what"].startswith("register as of ")


def test_a_youth_not_in_the_register_then_is_an_error_naming_the_option(
    infra: RunningInfra, database: str, tmp_path: Path
) -> None:
    asyncio.run(seeded(database, Youth()))
    stranger = uuid.uuid4()
    done = kaa(infra, database, tmp_path, "audit", "replay", "--tenant", "0180",
               "--as-of", datetime.now(UTC).isoformat(), "--youth-id", str(stranger))  # fmt: skip
    assert done.returncode == 1
    said = done.stderr.strip().splitlines()[-1]  # after the progress bar
    assert said == "kaa: error: --youth-id: no such youth in this municipality then"
    assert asyncio.run(logged(database, stranger)) == []


def test_a_database_without_a_register_is_named_without_a_traceback(
    infra: RunningInfra, database: str, tmp_path: Path
) -> None:
    done = kaa(infra, database, tmp_path, "audit", "replay", "--tenant", "0180",
               "--as-of", datetime.now(UTC).isoformat())  # fmt: skip
    assert done.returncode == 1
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith("kaa: error: DATABASE_URL: holds no register yet")
    assert "Traceback" not in done.stderr
