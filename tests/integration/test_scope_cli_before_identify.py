"""`kaa scope pending` and `kaa scope explain` on a database identify has never started on (a wrong
DATABASE_URL at 3 a.m.): one line that says so, not a traceback, and no personnummer echoed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.conftest import RunningInfra


@pytest.fixture
def empty_database(infra: RunningInfra) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield infra.database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.parametrize(
    "command", [["scope", "pending"], ["scope", "explain", "--tenant", "0180"]]
)
def test_a_database_without_identify_s_tables_is_one_line(
    infra: RunningInfra, empty_database: str, tmp_path: Path, command: list[str]
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "KAFKA_BOOTSTRAP_SERVERS": infra.bootstrap_servers,
        "DATABASE_URL": empty_database,
    }
    done = subprocess.run(
        [sys.executable, "-m", "kaa", *command], input="200801011230\n",
        env=env, capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "kaa: error: identify's tables are not in this database" in done.stderr
    assert "Traceback" not in done.stderr
    assert "200801011230" not in done.stderr + done.stdout
