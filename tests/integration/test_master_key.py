"""The master key's check value in PostgreSQL: recorded by the first start, the right key opens a
youth's sealed details, a wrong key is refused (at start and by `kaa keys check`), and the
command never prints a key."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.crypto import KEYRING_DDL, SealedDataError, TenantKeys, new_data_key, open_sealed, seal
from shared.intake import FeedSealer
from shared.key_backup import MasterKeyMismatch, check_value, require_master_key
from tests.conftest import RunningInfra

KEY = "the deployment's master key, kept in two places"
WRONG = "a master key from another deployment entirely"
TENANT, YOUTH = "0180", uuid.UUID("00000000-0000-4000-8000-000000000001")
PHONE = b"070-123 45 67"


@pytest.fixture
async def database(infra: RunningInfra) -> AsyncIterator[str]:
    """A database of its own with an empty keyring (as identify makes it)."""
    name = f"master_key_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(infra.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(infra.database_url)._replace(path=f"/{name}"))
    try:
        conn = await asyncpg.connect(url)
        await conn.execute(KEYRING_DDL)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def sealed_phone(url: str, master_key: str) -> str:
    """A youth's data key put in the keyring wrapped by `master_key`, and their phone number
    sealed with it (as the caseworker services seal contact details)."""
    data_key = new_data_key()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES ($1, $2, $3)",
            TENANT, YOUTH, TenantKeys(master_key).wrap(TENANT, YOUTH, data_key),
        )  # fmt: skip
    finally:
        await conn.close()
    return seal(data_key, PHONE, TENANT, YOUTH, "contact-details")


async def opened_phone(url: str, master_key: str, sealed: str) -> bytes:
    conn = await asyncpg.connect(url)
    try:
        wrapped = await conn.fetchval(
            "SELECT wrapped FROM keyring.youth_keys WHERE tenant = $1 AND youth_id = $2",
            TENANT, YOUTH,
        )  # fmt: skip
    finally:
        await conn.close()
    data_key = TenantKeys(master_key).unwrap(TENANT, YOUTH, bytes(wrapped))
    return open_sealed(data_key, sealed, TENANT, YOUTH, "contact-details")


async def stored_rows(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [str(dict(r)) for r in await conn.fetch("SELECT * FROM keyring.master_key")]
    finally:
        await conn.close()


async def test_the_first_start_records_the_check_value_and_the_right_key_opens_details(
    database: str,
) -> None:
    first = await require_master_key(database, KEY)
    assert first.matches
    assert first.stored == check_value(KEY)
    rows = await stored_rows(database)
    assert len(rows) == 1
    assert KEY not in rows[0], "the keyring holds the check value, not the key"
    sealed = await sealed_phone(database, KEY)
    # The next start (any service, any replica) with the same key: accepted, nothing re-recorded.
    again = await require_master_key(database, KEY)
    assert (again.stored, again.recorded_at) == (first.stored, first.recorded_at)
    assert await opened_phone(database, KEY, sealed) == PHONE


async def test_a_wrong_key_is_refused_at_start_and_opens_nothing(database: str) -> None:
    await require_master_key(database, KEY)
    sealed = await sealed_phone(database, KEY)
    with pytest.raises(MasterKeyMismatch) as refused:
        await require_master_key(database, WRONG)
    said = str(refused.value)
    assert said.startswith(
        "KAA_MASTER_KEY: does not match the key this database's keyring was made with"
    )
    assert KEY not in said
    assert WRONG not in said
    rows = await stored_rows(database)
    assert len(rows) == 1
    assert check_value(KEY) in rows[0], "the recorded value stays"
    with pytest.raises(SealedDataError):  # what every personal detail would have said instead
        await opened_phone(database, WRONG, sealed)


async def test_a_keyring_older_than_the_check_value_is_never_stamped_with_a_wrong_key(
    database: str,
) -> None:
    sealed = await sealed_phone(database, KEY)  # keys made before any check value was recorded
    with pytest.raises(MasterKeyMismatch, match="does not open the data keys already in"):
        await require_master_key(database, WRONG)
    assert await stored_rows(database) == [], "the wrong key's check value was not recorded"
    assert (await require_master_key(database, KEY)).stored == check_value(KEY)
    assert await opened_phone(database, KEY, sealed) == PHONE


async def test_intake_keys_sealed_before_the_first_start_are_opened_by_the_right_key(
    database: str,
) -> None:
    """A feed loaded before any service started (the feed adapter made the keyring's first keys,
    intake keys wrapped for `intake:<subject>`): the right key is accepted, a wrong one refused."""
    conn = await asyncpg.connect(database)
    try:
        made = await FeedSealer(TenantKeys(KEY), "p" * 32).intake_keys(conn, [(TENANT, "s-1")])
    finally:
        await conn.close()
    assert list(made) == [(TENANT, "s-1")]
    with pytest.raises(MasterKeyMismatch, match="does not open the data keys already in"):
        await require_master_key(database, WRONG)
    assert (await require_master_key(database, KEY)).stored == check_value(KEY)


def keys_check(url: str, master_key: str, *args: str, stdin: str = "") -> tuple[int, str]:
    """`kaa keys check` as a process (the module the `kaa` command mounts): exit code, output."""
    env = {
        **os.environ, "DATABASE_URL": url, "KAA_MASTER_KEY": master_key,
        "KAA_TOKEN_SECRET": "t" * 32, "KAA_PSEUDONYM_KEY": "p" * 32,
    }  # fmt: skip
    code = "from kaa.keys import keys_app; keys_app(prog_name='kaa keys')"
    done = subprocess.run(
        [sys.executable, "-c", code, "check", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


async def test_kaa_keys_check_says_whether_a_key_or_a_backup_copy_matches_and_never_prints_it(
    database: str, tmp_path: Path
) -> None:
    code, said = keys_check(database, KEY)
    assert code == 1, said
    assert "no check value recorded" in said
    await require_master_key(database, KEY)  # the first service started
    code, said = keys_check(database, KEY)
    assert code == 0
    assert "KAA_MASTER_KEY matches this database's keyring: check value " in said
    assert check_value(KEY) in said
    code, said = keys_check(database, WRONG)
    assert code == 1
    assert "KAA_MASTER_KEY does not match the key this database's keyring" in said
    assert check_value(WRONG) in said
    assert check_value(KEY) in said
    # A backup copy checked from its file (or standard input), whatever the environment holds.
    copy, bad = tmp_path / "master-key.copy", tmp_path / "other.copy"
    copy.write_text(KEY + "\n")
    bad.write_text(WRONG + "\n")
    outputs = [said]
    for args, stdin, expected in (
        (("--key-file", str(copy)), "", 0),
        (("--key-file", str(bad)), "", 1),
        (("--key-file", "-"), KEY + "\n", 0),
    ):
        code, said = keys_check(database, WRONG, *args, stdin=stdin)
        assert code == expected, said
        outputs.append(said)
    assert "the key in -" in outputs[-1]
    assert "matches" in outputs[-1]
    for said in outputs:
        assert KEY not in said, "a key was printed"
        assert WRONG not in said, "a key was printed"
