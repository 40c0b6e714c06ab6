"""Personal data sealed per youth, so that it can be shredded (DOMAIN.md section 7).

Every (tenant, youth) pair has its own random 256-bit data key. Personal fields are sealed with it
(AES-256-GCM); the associated data binds a ciphertext to its tenant, youth and purpose, so a
ciphertext copied onto another youth, another municipality or another field does not open.

Data keys are stored only wrapped by the tenant's key (AES-256-GCM again) in the `keyring` schema.
A tenant key is derived from the deployment's master key (HKDF-SHA256, `KAA_MASTER_KEY`); an
installation with a key management service replaces `TenantKeys` and nothing else.

Destroying a youth's wrapped data key (retention) makes every copy of their personal data unreadable
at once: in the event stores, on the Kafka topics, in backups. Nothing here logs or raises with a
plaintext or a key in the message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "kaa1."
_URLSAFE = bytes.maketrans(b"-_", b"+/")
NONCE_BYTES = 12
KEY_BYTES = 32

KEYRING_DDL = """
SELECT pg_advisory_xact_lock(hashtext('kaa.ddl'));
CREATE SCHEMA IF NOT EXISTS keyring;
CREATE TABLE IF NOT EXISTS keyring.youth_keys (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, youth_id)
);
-- The person's keyed hash where identify made the key: the subject of their intake keys
-- (shared/intake.py), which retention destroys with the data key.
ALTER TABLE keyring.youth_keys ADD COLUMN IF NOT EXISTS subject text;
-- The register's look-up by personnummer finds a youth by it.
CREATE INDEX IF NOT EXISTS youth_keys_subject ON keyring.youth_keys (tenant, subject);
-- Keys destroyed by retention: when and why (no key material).
CREATE TABLE IF NOT EXISTS keyring.destroyed_keys (
    tenant char(4) NOT NULL,
    youth_id uuid NOT NULL,
    destroyed_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL,
    PRIMARY KEY (tenant, youth_id)
);
-- Keys feed records are sealed with at intake (shared/intake.py), per person and municipality.
CREATE TABLE IF NOT EXISTS keyring.intake_keys (
    tenant char(4) NOT NULL,
    subject text NOT NULL,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, subject)
);
"""
_KEYRING_CURRENT = """
SELECT to_regclass('keyring.intake_keys') IS NOT NULL AND EXISTS (
    SELECT 1 FROM information_schema.columns
    WHERE table_schema = 'keyring' AND table_name = 'youth_keys' AND column_name = 'subject')
AND to_regclass('keyring.youth_keys_subject') IS NOT NULL
"""


async def ensure_keyring(conn: Any) -> None:
    """The keyring's tables, for work that recurs (a feed load, a retention run): the DDL only
    where they are missing, so a routine run never queues for the table locks DDL takes."""
    if not await conn.fetchval(_KEYRING_CURRENT):
        await conn.execute(KEYRING_DDL)


# One statement for a batch of keys, its rows as one JSON parameter (`json_rows`): for callers on
# either driver (the keyring-subject fill, tests over asyncpg). identify's feed batches write their
# keys in their events' transaction with `INSERT_KEY_ARRAYS` below (binary arrays: cheaper).
INSERT_KEYS = (
    "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped, subject) "
    "SELECT r.tenant, r.youth_id, decode(r.wrapped, 'base64'), r.subject "
    "FROM json_to_recordset(%s::json) AS r(tenant char(4), youth_id uuid, wrapped text, "
    "subject text) "
    "ON CONFLICT (tenant, youth_id) DO UPDATE "
    "SET subject = coalesce(keyring.youth_keys.subject, excluded.subject)"
)
# The same statement for psycopg, the rows as four binary arrays (`key_arrays`): about a third of
# the JSON parameter's cost in identify for a batch of new youths (base64 and JSON per key).
INSERT_KEY_ARRAYS = (
    "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped, subject) "
    "SELECT * FROM unnest(%b::char(4)[], %b::uuid[], %b::bytea[], %b::text[]) "
    "ON CONFLICT (tenant, youth_id) DO UPDATE "
    "SET subject = coalesce(keyring.youth_keys.subject, excluded.subject)"
)
SELECT_KEYS = (
    "SELECT tenant, youth_id, wrapped FROM keyring.youth_keys WHERE (tenant, youth_id) IN "
    "(SELECT * FROM json_to_recordset(%s::json) AS r(tenant char(4), youth_id uuid))"
)


def json_rows(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as the one JSON parameter of a batch statement (bytes as base64)."""
    return orjson.dumps(
        [
            {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in row.items()}
            for row in rows
        ]
    ).decode()


def key_arrays(
    rows: Iterable[tuple[str, uuid.UUID, bytes, str | None]],
) -> tuple[list[str], list[uuid.UUID], list[bytes], list[str | None]]:
    """(tenant, youth id, wrapped key, subject) rows as `INSERT_KEY_ARRAYS`'s four parameters."""
    tenants: list[str] = []
    youths: list[uuid.UUID] = []
    wrapped: list[bytes] = []
    subjects: list[str | None] = []
    for tenant, youth_id, key, subject in rows:
        tenants.append(tenant)
        youths.append(youth_id)
        wrapped.append(key)
        subjects.append(subject)
    return tenants, youths, wrapped, subjects


# Whose data key: a youth (their id), or another holder named by a string (an intake key's
# subject, `shared.intake`); either way bound into the associated data.
Owner = uuid.UUID | str


class SealedDataError(ValueError):
    """Sealed data that cannot be opened: tampered, truncated, or bound to another youth."""


class TenantKeys:
    """The key-encryption key of each tenant, derived from the master key."""

    def __init__(self, master_key: str) -> None:
        if len(master_key) < 16:
            raise ValueError("master_key: must be at least 16 characters of secret")
        self._master = master_key.encode()
        self._keys: dict[str, AESGCM] = {}

    def _cipher(self, tenant: str) -> AESGCM:
        cipher = self._keys.get(tenant)
        if cipher is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=None,
                info=f"kaa/tenant-key/v1/{tenant}".encode(),
            ).derive(self._master)
            cipher = self._keys[tenant] = AESGCM(key)
        return cipher

    def wrap(self, tenant: str, youth_id: Owner, data_key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher(tenant).encrypt(nonce, data_key, _key_aad(tenant, youth_id))

    def unwrap(self, tenant: str, youth_id: Owner, wrapped: bytes) -> bytes:
        try:
            return self._cipher(tenant).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _key_aad(tenant, youth_id)
            )
        except InvalidTag as error:
            raise SealedDataError(
                f"data key of youth {youth_id} in tenant {tenant} fails authentication"
            ) from error


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(data_key: bytes, plaintext: bytes, tenant: str, youth_id: Owner, purpose: str) -> str:
    """`kaa1.` + base64url(nonce ‖ ciphertext ‖ tag)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, plaintext, _data_aad(tenant, youth_id, purpose))
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_sealed(data_key: bytes, sealed: str, tenant: str, youth_id: Owner, purpose: str) -> bytes:
    if not sealed.startswith(SEALED_PREFIX):
        raise SealedDataError(f"{purpose}: not sealed data of a known format")
    try:
        # base64url as `base64.urlsafe_b64decode` reads it, without its two wrapper calls.
        raw = binascii.a2b_base64(sealed[len(SEALED_PREFIX) :].encode("ascii").translate(_URLSAFE))
        return AESGCM(data_key).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], _data_aad(tenant, youth_id, purpose)
        )
    except (InvalidTag, ValueError) as error:
        raise SealedDataError(
            f"{purpose} of youth {youth_id} fails authentication (tampered or not theirs)"
        ) from error


class YouthSealer:
    """Seals what is written about one youth with their data key: free text a caseworker wrote
    (a plan's goal, a measure's content) is personal data, shredded with the key by retention.

    `digest` is keyed with the same data key, so a retried command's text is compared without
    keeping it in the clear (and the digest is as unreadable as the text once the key is gone)."""

    def __init__(self, data_key: bytes, tenant: str, youth_id: Owner) -> None:
        self._key = data_key
        self.tenant = tenant
        self.youth_id = youth_id

    def seal(self, plaintext: bytes, purpose: str) -> str:
        return seal(self._key, plaintext, self.tenant, self.youth_id, purpose)

    def digest(self, plaintext: bytes, purpose: str) -> str:
        keyed = hmac.new(self._key, purpose.encode() + b"\0" + plaintext, hashlib.sha256)
        return keyed.hexdigest()


TextState = Literal["open", "redacted", "tampered"]
"""What a view can show of sealed text: `open`; `redacted`, the youth's data key is destroyed
(retention) so the text can no longer be read; `tampered`, it fails authentication."""


def open_text(
    data_key: bytes | None, sealed: str, tenant: str, youth_id: Owner, purpose: str
) -> tuple[TextState, bytes | None]:
    """Sealed text for a view: the state and, when `open`, the plaintext; `data_key` None is a
    key retention destroyed. Never raises for a bad ciphertext (a view shows `tampered`)."""
    if data_key is None:
        return "redacted", None
    try:
        return "open", open_sealed(data_key, sealed, tenant, youth_id, purpose)
    except SealedDataError:
        return "tampered", None


def _key_aad(tenant: str, youth_id: Owner) -> bytes:
    return f"kaa/data-key/{tenant}/{youth_id}".encode()


def _data_aad(tenant: str, youth_id: Owner, purpose: str) -> bytes:
    return f"kaa/{purpose}/{tenant}/{youth_id}".encode()


class DataKeyCache:
    """Unwrapped data keys a process holds, the most recently used last (the least recently used
    go first when it is full): bounded in number and in age. A key is never handed out more than
    `max_age` seconds after it was taken in, so one destroyed by retention seals and opens nothing
    from then on; and keys past that age leave memory at the next use of the cache after a sweep
    is due (every `max_age / 2` seconds), whether anyone asks for them again or not. Safe to use
    from several threads (identify's feed batches, schedule and notifications share one)."""

    def __init__(self, capacity: int = 100_000, max_age: float = 600.0) -> None:
        self.capacity = capacity
        self.max_age = max_age
        self._keys: OrderedDict[tuple[str, Owner], tuple[bytes, float]] = OrderedDict()
        self._next_sweep = time.monotonic() + max_age / 2
        self._lock = threading.Lock()

    def get(self, tenant: str, youth_id: Owner) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            held = self._keys.get((tenant, youth_id))
            if held is None:
                return None
            if now - held[1] > self.max_age:
                del self._keys[(tenant, youth_id)]
                return None
            self._keys.move_to_end((tenant, youth_id))
            return held[0]

    def put(self, tenant: str, youth_id: Owner, key: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            self._keys[(tenant, youth_id)] = (key, now)
            self._keys.move_to_end((tenant, youth_id))
            while len(self._keys) > self.capacity:
                self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)

    def _sweep(self, now: float) -> None:
        """Let every key past its age go (use order is not age order: a walk over all of them,
        at most 100,000, twice per `max_age`). Called with the lock held."""
        self._next_sweep = now + self.max_age / 2
        expired = [owner for owner, (_, taken) in self._keys.items() if now - taken > self.max_age]
        for owner in expired:
            del self._keys[owner]

    def drop(self, tenant: str, youth_id: Owner) -> None:
        with self._lock:
            self._keys.pop((tenant, youth_id), None)


def key_for(cursor: Any, keys: TenantKeys, tenant: str, youth_id: uuid.UUID) -> bytes:
    """The youth's data key (psycopg cursor on the database holding the keyring); made when the
    youth has none yet, e.g. when no population record has named them."""
    cursor.execute(
        "SELECT wrapped FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
        (tenant, youth_id),
    )
    row = cursor.fetchone()
    if row is None:
        cursor.execute(
            "INSERT INTO keyring.youth_keys (tenant, youth_id, wrapped) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (tenant, youth_id, keys.wrap(tenant, youth_id, new_data_key())),
        )
        cursor.execute(
            "SELECT wrapped FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
            (tenant, youth_id),
        )
        row = cursor.fetchone()
    wrapped = row["wrapped"] if isinstance(row, dict) else row[0]
    return keys.unwrap(tenant, youth_id, bytes(wrapped))


def stored_key(cursor: Any, keys: TenantKeys, tenant: str, youth_id: uuid.UUID) -> bytes | None:
    """The youth's data key as the keyring holds it now (psycopg cursor), or None when there is
    none (destroyed by retention, or never made): for reading, so nothing is created."""
    cursor.execute(
        "SELECT wrapped FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
        (tenant, youth_id),
    )
    row = cursor.fetchone()
    if row is None:
        return None
    wrapped = row["wrapped"] if isinstance(row, dict) else row[0]
    return keys.unwrap(tenant, youth_id, bytes(wrapped))
