"""A service started with a master key the keyring was not made with is refused at start, with
one clear line naming the variable and the reason, instead of failing later on every personal
detail; the key itself is never in its log."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import asyncpg
import pytest

from kaa.deployment import Deployment, free_port
from kaa.supervisor import Platform
from shared.key_backup import check_value
from tests.conftest import RunningInfra

WRONG = "a master key from another deployment entirely"


async def recorded(deployment: Deployment) -> list[str]:
    conn = await asyncpg.connect(deployment.database_url)
    try:
        return [r["check_value"] for r in await conn.fetch("SELECT * FROM keyring.master_key")]
    finally:
        await conn.close()


def test_a_service_started_with_another_master_key_is_refused_naming_the_variable(
    infra: RunningInfra, tmp_path: Path
) -> None:
    deployment = Deployment(
        name=f"key-{uuid.uuid4().hex[:10]}", bootstrap_servers=infra.bootstrap_servers,
        admin_database_url=infra.database_url, logs_dir=tmp_path / "right",
    )  # fmt: skip
    asyncio.run(deployment.reset())
    try:
        deployment.start(dict(os.environ), ["register"])  # the first start records the key's value
        assert asyncio.run(recorded(deployment)) == [check_value(deployment.master_key)]
        deployment.stop()

        env = {**deployment.env(dict(os.environ)), "KAA_MASTER_KEY": WRONG}
        wrong = Platform(env=env, logs_dir=tmp_path / "wrong", ports={"register": free_port()})
        with pytest.raises(RuntimeError, match="exited during start-up"):
            wrong.start(["register"])
        process = wrong.processes["register"].process
        assert process is not None
        assert process.wait(30) != 0
        log = (tmp_path / "wrong" / "register.log").read_text()
        said = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        refusal = "start-up refused: KAA_MASTER_KEY: does not match the key this database's keyring"
        assert [s["level"] for s in said if s["event"].startswith(refusal)] == ["error"], log
        assert WRONG not in log, "the configured key is never logged"
        assert deployment.master_key not in log
        assert asyncio.run(recorded(deployment)) == [check_value(deployment.master_key)]
    finally:
        deployment.stop()
        asyncio.run(deployment.drop())
