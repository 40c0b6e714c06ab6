"""The master key's check value: an operator proves that a copy of `KAA_MASTER_KEY` is the right
one without showing it, and a service refuses a key the keyring was not made with.

Every youth's data key is stored wrapped by a tenant key derived from the master key
(`shared/crypto.py`), so the master key is the one secret without which no personal detail opens
again: not in the event stores, not on the topics, not in a database backup. It is kept outside
the database (a secret), so its backup is a separate thing an operator holds, and must be able to
check without printing it.

The check value is HKDF-SHA256 of the key with a fixed label, 16 hex digits: it tells keys apart
and tells nothing of the key (deriving the key back from it is as hard as guessing the key). The
first service that starts on a database records the value of its key in `keyring.master_key`;
before it does, it opens a data key already in the keyring with the key, so a database whose keys
were made before the check value existed is never stamped with a wrong key. Every later start
compares, and a key that differs is refused at once, naming the variable, instead of every
personal detail failing to open later. `kaa keys check` compares without recording anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import SealedDataError, TenantKeys

VARIABLE = "KAA_MASTER_KEY"
LABEL = b"kaa/master-key-check/v1"
log = structlog.get_logger(__name__)

DDL = """
SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'));
CREATE SCHEMA IF NOT EXISTS keyring;
-- The master key's check value (never the key): one row, recorded by the first service to start.
CREATE TABLE IF NOT EXISTS keyring.master_key (
    single boolean PRIMARY KEY DEFAULT true CHECK (single),
    check_value text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
"""
_STORED = "SELECT check_value, recorded_at FROM keyring.master_key"
_RECORD = "INSERT INTO keyring.master_key (check_value) VALUES ($1) ON CONFLICT DO NOTHING"
# One key already in the keyring (a youth's, else an intake key), to try the master key on.
_A_YOUTH_KEY = "SELECT tenant, youth_id::text AS owner, wrapped FROM keyring.youth_keys LIMIT 1"
# An intake key is wrapped for `intake:<subject>` (`shared.intake.owner`), never for a UUID.
_AN_INTAKE_KEY = (
    "SELECT tenant, 'intake:' || subject AS owner, wrapped FROM keyring.intake_keys LIMIT 1"
)


class MasterKeyMismatch(RuntimeError):
    """The configured master key is not the one this database's keyring was made with: nothing a
    retry mends (the service stops; the operator gives the right key)."""


def check_value(master_key: str) -> str:
    """The key's check value: 16 hex digits, safe to show, store and compare."""
    derived = HKDF(algorithm=hashes.SHA256(), length=8, salt=None, info=LABEL)
    return derived.derive(master_key.encode()).hex()


@dataclass(frozen=True)
class KeyCheck:
    """The configured key's check value beside the keyring's (None: none recorded yet)."""

    configured: str
    stored: str | None
    recorded_at: datetime | None

    @property
    def matches(self) -> bool:
        return self.stored is not None and self.stored == self.configured

    def refusal(self) -> str:
        return (
            f"{VARIABLE}: does not match the key this database's keyring was made with (the key's "
            f"check value is {self.configured}, the keyring's {self.stored}, recorded "
            f"{self.recorded_at:%Y-%m-%d}); give the key the keyring was made with (restore it "
            "from its backup: deploy/RUNBOOK.md, the master key)"
        )


async def read(conn: Any, master_key: str) -> KeyCheck:
    """Compare the key with the keyring's check value; records nothing."""
    configured = check_value(master_key)
    if await conn.fetchval("SELECT to_regclass('keyring.master_key')") is None:
        return KeyCheck(configured, None, None)
    row = await conn.fetchrow(_STORED)
    if row is None:
        return KeyCheck(configured, None, None)
    return KeyCheck(configured, str(row["check_value"]), row["recorded_at"])


async def record_or_refuse(conn: Any, master_key: str) -> KeyCheck:
    """At a service's start: record the key's check value where none is (first proving the key
    opens a key already in the keyring, if any), then refuse a key that does not match."""
    if await conn.fetchval("SELECT to_regclass('keyring.master_key')") is None:
        await conn.execute(DDL)
    found = await read(conn, master_key)
    if found.stored is None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('kaa.master-key'))")
            found = await read(conn, master_key)
            if found.stored is None:
                await _opens_the_keyring(conn, master_key)
                await conn.execute(_RECORD, found.configured)
                found = await read(conn, master_key)
    if not found.matches:
        raise MasterKeyMismatch(found.refusal())
    return found


async def _opens_the_keyring(conn: Any, master_key: str) -> None:
    """Refuse a key that does not open a data key the keyring already holds."""
    keys = TenantKeys(master_key)
    for query, table in ((_A_YOUTH_KEY, "youth_keys"), (_AN_INTAKE_KEY, "intake_keys")):
        if await conn.fetchval("SELECT to_regclass($1)", f"keyring.{table}") is None:
            continue
        row = await conn.fetchrow(query)
        if row is None:
            continue
        try:
            keys.unwrap(row["tenant"], row["owner"], bytes(row["wrapped"]))
        except SealedDataError:
            raise MasterKeyMismatch(
                f"{VARIABLE}: does not open the data keys already in this database's keyring "
                "(it is not the key they were made with); give the key the keyring was made "
                "with (restore it from its backup: deploy/RUNBOOK.md, the master key)"
            ) from None
        return


async def require_master_key(database_url: str, master_key: str) -> KeyCheck:
    """What a service runs once at start, before it opens anything sealed: the key is recorded
    (first start) or compared, and a wrong key raises `MasterKeyMismatch`."""
    conn = await asyncpg.connect(database_url, timeout=5)  # a start-up never hangs on it
    try:
        return await record_or_refuse(conn, master_key)
    except MasterKeyMismatch as refused:
        log.error(f"start-up refused: {refused}")  # one line an operator reads (no key in it)
        raise
    finally:
        await conn.close()
