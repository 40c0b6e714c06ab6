"""Feed records sealed at intake, so no Kafka message carries personal data in the clear.

The feed adapter (`kaa feed load`, `Deployment.load`) seals the body of each record — the
population `record`, the SS 12000 `person`, the `completion` — with an *intake key* of the person
in the receiving municipality before it publishes; the envelope (feed, schema version, record id,
tenant, observation time) stays readable, and the Kafka key stays the person's keyed hash:

    {"feed": "population", "schema_version": 1, "record_id": "…", "tenant": "0180",
     "observed_at": "…", "intake_subject": "<keyed hash>", "sealed": "kaa1.…"}

An intake key is random, one per (tenant, subject), where the subject is the person's keyed hash
(`shared.pseudonym.person_key`), or, for a line without a valid personnummer, a keyed hash of the
line itself (such a line is still sealed; identify parks it with its reason). Keys are stored only
wrapped by the tenant key, in `keyring.intake_keys`. Identify opens a record before it parses it;
when it makes a youth's data key it stores the person's keyed hash with it, so retention destroys
the intake keys of a purged youth with their data key (and any intake key nothing was sealed with
for longer than the feed topics keep records). From then on the records left on the topics, in
dead-letter topics and in backups cannot be opened.

Identify refuses a record that is not sealed (`KAA_FEED_PLAINTEXT=refuse`, the default) after it
has checked it, so a bad line still gets its own reason; `accept` is for an upstream system that
can only write to Kafka itself and weakens retention accordingly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from shared import personnummer
from shared.crypto import DataKeyCache, SealedDataError, TenantKeys, new_data_key, open_sealed, seal
from shared.messaging.consumer import Delivery, Rejected
from shared.pseudonym import person_key

T = TypeVar("T")
PURPOSE = "feed-intake"
SEALED = "sealed"
SUBJECT = "intake_subject"
# `live` is read before the record is opened; an organiser's `source` is sealed with the person (which
# organiser a person attends may say more than the person would like).
ENVELOPE = ("feed", "schema_version", "record_id", "tenant", "observed_at", "live")

# The adapter, per batch: the stored keys of its subjects; new keys for the others (a concurrent
# adapter's key wins, read afterwards); `last_sealed_at` renewed where it is half a day old, which
# keeps it within a day of the newest record sealed (retention goes by it, FEED_RETENTION + 1 day).
STORED_KEYS = """
SELECT tenant, subject, wrapped, last_sealed_at < now() - interval '12 hours' AS stale
FROM keyring.intake_keys
WHERE (tenant, subject) IN (SELECT * FROM unnest($1::char(4)[], $2::text[]))
"""
NEW_KEYS = """
INSERT INTO keyring.intake_keys (tenant, subject, wrapped)
SELECT * FROM unnest($1::char(4)[], $2::text[], $3::bytea[])
ON CONFLICT (tenant, subject) DO NOTHING
"""
RENEW_KEYS = """
UPDATE keyring.intake_keys SET last_sealed_at = now()
WHERE (tenant, subject) IN (SELECT * FROM unnest($1::char(4)[], $2::text[]))
"""
# psycopg (identify): the keys of a batch's subjects.
SELECT_KEYS = (
    "SELECT tenant, subject, wrapped FROM keyring.intake_keys WHERE (tenant, subject) IN "
    "(SELECT * FROM json_to_recordset(%s::json) AS r(tenant char(4), subject text))"
)


def owner(subject: str) -> str:
    """The holder an intake key is wrapped for and its records are bound to (never a UUID, so
    never mistaken for a youth's data key)."""
    return f"intake:{subject}"


@dataclass(frozen=True)
class _Line:
    raw: bytes
    data: dict[str, Any] | None
    tenant: str | None
    subject: str | None
    person: str | None


class FeedSealer:
    """The adapter's side: seals feed lines (bytes as delivered) for publication."""

    def __init__(self, keys: TenantKeys, pseudonym_key: str) -> None:
        self.keys = keys
        self.pseudonym_key = pseudonym_key

    def _read(self, raw: bytes) -> _Line:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _Line(raw, None, None, None, None)
        if not isinstance(data, dict):
            return _Line(raw, None, None, None, None)
        tenant = data.get("tenant")
        if not (isinstance(tenant, str) and len(tenant) == 4 and tenant.isdigit()):
            return _Line(raw, None, None, None, None)
        person = person_key_of(data, self.pseudonym_key)
        subject = (
            person
            or "line:" + hmac.new(self.pseudonym_key.encode(), raw, hashlib.sha256).hexdigest()
        )
        return _Line(raw, data, tenant, subject, person)

    async def intake_keys(
        self, conn: Any, wanted: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], bytes]:
        """The intake keys of (tenant, subject) pairs, made where there are none."""
        if not wanted:
            return {}
        rows = await _stored(conn, wanted)
        stale = [(r["tenant"], r["subject"]) for r in rows if r["stale"]]
        if stale:
            await conn.execute(RENEW_KEYS, [t for t, _ in stale], [s for _, s in stale])
        found = {(r["tenant"], r["subject"]) for r in rows}
        missing = [p for p in wanted if p not in found]
        made: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        if missing:
            for tenant, subject in missing:
                key = new_data_key()
                made[(tenant, subject)] = (self.keys.wrap(tenant, owner(subject), key), key)
            await conn.execute(
                NEW_KEYS,
                [t for t, _ in missing],
                [s for _, s in missing],
                [made[p][0] for p in missing],
            )
            rows += await _stored(conn, missing)  # ours, or a concurrent adapter's
        keys: dict[tuple[str, str], bytes] = {}
        for r in rows:
            pair, wrapped = (r["tenant"], r["subject"]), bytes(r["wrapped"])
            ours = made.get(pair)
            keys[pair] = (
                ours[1] if ours is not None and ours[0] == wrapped
                else self.keys.unwrap(pair[0], owner(pair[1]), wrapped)
            )  # fmt: skip
        return keys

    async def seal(self, conn: Any, lines: Sequence[bytes]) -> list[tuple[bytes | None, bytes]]:
        """(Kafka key, value) for each line, in order. `conn` is an asyncpg connection to the
        database holding the keyring. A line that is not a JSON object with a 4-digit tenant has
        nothing to be sealed for: it is returned as it is (identify parks it with its reason)."""
        read = [self._read(raw) for raw in lines]
        wanted = sorted({(r.tenant, r.subject) for r in read if r.tenant and r.subject})
        stored = await self.intake_keys(conn, wanted)
        out: list[tuple[bytes | None, bytes]] = []
        for line in read:
            if line.data is None or line.tenant is None or line.subject is None:
                out.append((None, line.raw))
                continue
            envelope = {k: line.data[k] for k in ENVELOPE if k in line.data}
            body = {k: v for k, v in line.data.items() if k not in ENVELOPE}
            sealed = seal(
                stored[(line.tenant, line.subject)],
                orjson.dumps(body),
                line.tenant,
                owner(line.subject),
                PURPOSE,
            )
            value = orjson.dumps({**envelope, SUBJECT: line.subject, SEALED: sealed})
            out.append((line.person.encode() if line.person else None, value))
        return out


async def _stored(conn: Any, pairs: Sequence[tuple[str, str]]) -> list[Any]:
    return list(await conn.fetch(STORED_KEYS, [t for t, _ in pairs], [s for _, s in pairs]))


async def stored_keys(conn: Any, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """The wrapped intake keys of (tenant, subject) pairs over an asyncpg connection (a
    `FeedOpener`'s `fetch` outside identify: scans, tests)."""
    return {(r["tenant"], r["subject"]): bytes(r["wrapped"]) for r in await _stored(conn, pairs)}


def person_key_of(data: dict[str, Any], pseudonym_key: str) -> str | None:
    """The keyed hash of the personnummer a feed record (parsed JSON) names, if it names one."""
    try:
        number = (
            (data.get("record") or {}).get("personnummer")
            or (data.get("completion") or {}).get("personnummer")
            or ((data.get("person") or {}).get("civicNo") or {}).get("value")
        )
        return person_key(personnummer.normalize(str(number)), pseudonym_key)
    except (ValueError, AttributeError, TypeError):
        return None


_SEALED_FIELD = f'"{SEALED}"'.encode()


def is_sealed(value: bytes | None) -> bool:
    return value is not None and _SEALED_FIELD in value


class FeedOpener:
    """Identify's side: opens the sealed records of a batch with one key query.

    `fetch` returns the wrapped keys of (tenant, subject) pairs (run off the event loop).
    An opened delivery carries the record as the feed contract has it and `opened=True`; a record
    that cannot be opened is rejected with the reason (no personal data in it)."""

    def __init__(
        self,
        keys: TenantKeys,
        fetch: Callable[[list[tuple[str, str]]], Awaitable[dict[tuple[str, str], bytes]]],
        cache: DataKeyCache | None = None,
    ) -> None:
        self.keys = keys
        self.fetch = fetch
        self.cache = cache or DataKeyCache()

    async def open(self, deliveries: Sequence[Delivery]) -> list[Delivery | Rejected]:
        envelopes = [_envelope(d.value) for d in deliveries]
        pairs = {(e["tenant"], e[SUBJECT]) for e in envelopes if isinstance(e, dict)}
        # The batch's keys are held here, each taken once: putting the fetched ones in the bounded
        # cache pushes out its oldest, which may be keys this batch needs (read again from the
        # cache, such a record was refused as having no key).
        keys = {p: self.cache.get(p[0], owner(p[1])) for p in pairs}
        missing = sorted(p for p, key in keys.items() if key is None)
        if missing:
            for (tenant, subject), wrapped in (await self.fetch(missing)).items():
                try:
                    key = self.keys.unwrap(tenant, owner(subject), wrapped)
                except SealedDataError:
                    continue  # its records are refused below as having no intake key
                self.cache.put(tenant, owner(subject), key)
                keys[(tenant, subject)] = key
        out: list[Delivery | Rejected] = []
        for delivery, envelope in zip(deliveries, envelopes, strict=True):
            if envelope is None:
                out.append(delivery)
            elif isinstance(envelope, Rejected):
                out.append(envelope)
            else:
                held = keys.get((envelope["tenant"], envelope[SUBJECT]))
                out.append(self._open_one(delivery, envelope, held))
        return out

    def _open_one(
        self, delivery: Delivery, envelope: dict[str, Any], key: bytes | None
    ) -> Delivery | Rejected:
        tenant, subject = envelope["tenant"], envelope[SUBJECT]
        if key is None:
            return Rejected(
                "sealed: no intake key for this record in the keyring (destroyed by retention, "
                "or sealed by another deployment)"
            )
        try:
            body = open_sealed(key, envelope[SEALED], tenant, owner(subject), PURPOSE)
        except SealedDataError:
            return Rejected("sealed: the record fails authentication (tampered, or not this "
                            "record's subject and municipality)")  # fmt: skip
        if not (body.startswith(b"{") and body.endswith(b"}")):
            return Rejected("sealed: the sealed body is not a JSON object")
        # The record as the feed contract has it: the envelope's fields, then the body's (the
        # adapter sealed a JSON object without envelope fields; the parser checks the whole).
        # The envelope is this record's own parsed copy: its sealing fields are dropped in place.
        del envelope[SUBJECT], envelope[SEALED]
        clear = orjson.dumps(envelope)
        value = clear if body == b"{}" else clear[:-1] + b"," + body[1:]
        return Delivery(delivery.topic, delivery.partition, delivery.offset, delivery.key,
                        value, delivery.headers, opened=True)  # fmt: skip


def _envelope(value: bytes | None) -> dict[str, Any] | Rejected | None:
    """The sealed envelope's fields, None for a record that is not sealed after all."""
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None  # the parser says "not JSON"
    if not isinstance(data, dict) or SEALED not in data:
        return None
    tenant, subject, sealed = data.get("tenant"), data.get(SUBJECT), data.get(SEALED)
    for name, field in ((SUBJECT, subject), (SEALED, sealed)):
        if not isinstance(field, str) or not field:
            return Rejected(f"{name}: a sealed record needs it as a non-empty string")
    if not (isinstance(tenant, str) and len(tenant) == 4 and tenant.isdigit()):
        return Rejected("tenant: a sealed record needs the 4-digit kommunkod it was sealed for")
    return data


PLAINTEXT_REFUSED = (
    "sealed: the record is not sealed; feeds are published through the feed adapter "
    "(kaa feed load), or KAA_FEED_PLAINTEXT=accept for an upstream system that cannot"
)


def refuse_plaintext(
    parse: Callable[[Delivery], T | Rejected],
    unsealed: tuple[type, ...] = (),
) -> Callable[[Delivery], T | Rejected]:
    """Wrap a parser: a valid record that was not opened from a sealed one is refused (except
    the `unsealed` kinds, which carry no personal data: a feed's watermark)."""

    passed = (Rejected, *unsealed)

    def checked(delivery: Delivery) -> T | Rejected:
        outcome = parse(delivery)
        if delivery.opened or isinstance(outcome, passed):
            return outcome
        return Rejected(PLAINTEXT_REFUSED)

    return checked
