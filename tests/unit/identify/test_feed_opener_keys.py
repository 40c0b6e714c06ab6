"""identify must open every sealed feed record whose intake key is in the keyring.

The national run (500,000 persons) ended one youth off in five municipalities: identify had
dead-lettered ten feed records as "no intake key for this record in the keyring" although every
key was there. `FeedOpener.open` asked its key cache which of a batch's keys it held, fetched the
others and put them in the cache, then read the cache again for each record; the cache is
bounded (100,000 keys, ten minutes), so the keys put for the batch pushed out the oldest ones,
and a key held at the first look could be gone at the second. With more (municipality, person)
pairs than the cache holds, a person's later record (an SS 12000 record ending an enrolment, a
move) was parked now and then, and the person decided without it.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from kaa.dev.country import generate_country
from shared import crypto, personnummer
from shared.crypto import DataKeyCache, TenantKeys, new_data_key, seal
from shared.intake import ENVELOPE, PURPOSE, SEALED, SUBJECT, FeedOpener, owner, person_key_of
from shared.messaging.consumer import Delivery, Rejected

KEYS = TenantKeys("feed-opener-test-master-key")
PSEUDONYM_KEY = "feed-opener-test-pseudonym-key"


class Keyring:
    """Seals feed lines as the feed adapter does; `fetch` is identify's query of the keyring."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self.fetched = 0

    def sealed(self, raw: bytes) -> bytes:
        data = orjson.loads(raw)
        tenant, subject = data["tenant"], person_key_of(data, PSEUDONYM_KEY)
        assert subject is not None
        if (tenant, subject) not in self.stored:
            key = new_data_key()
            self.stored[(tenant, subject)] = (key, KEYS.wrap(tenant, owner(subject), key))
        body = {k: v for k, v in data.items() if k not in ENVELOPE}
        sealed = seal(
            self.stored[(tenant, subject)][0], orjson.dumps(body), tenant, owner(subject), PURPOSE
        )
        envelope = {k: data[k] for k in ENVELOPE if k in data}
        return orjson.dumps({**envelope, SUBJECT: subject, SEALED: sealed})

    async def fetch(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        self.fetched += 1
        return {p: self.stored[p][1] for p in pairs if p in self.stored}


def numbers(count: int) -> list[str]:
    rng = random.Random(21)
    return [personnummer.generate(date(2008, 1, 1 + n), rng) for n in range(count)]


def line(number: str, tenant: str = "0180") -> bytes:
    return json.dumps(
        {"feed": "population", "schema_version": 1, "record_id": "r", "tenant": tenant,
         "observed_at": "2026-11-01T00:00:00+00:00", "record": {"personnummer": number}}
    ).encode()  # fmt: skip


def deliveries(values: list[bytes], first: int = 0) -> list[Delivery]:
    return [Delivery("feed", 0, first + n, None, v, ()) for n, v in enumerate(values)]


def rejected(opened: list[Delivery | Rejected]) -> list[str]:
    return [o.reason for o in opened if isinstance(o, Rejected)]


def test_a_key_held_when_the_batch_began_still_opens_its_record() -> None:
    """The cache holds two keys: A's, then the batch's new B and C push it out."""
    keyring = Keyring()
    a, b, c = (keyring.sealed(line(n)) for n in numbers(3))
    opener = FeedOpener(KEYS, keyring.fetch, DataKeyCache(capacity=2))
    assert rejected(asyncio.run(opener.open(deliveries([a])))) == []
    opened = asyncio.run(opener.open(deliveries([a, b, c], first=1)))
    assert rejected(opened) == []
    assert all(isinstance(o, Delivery) and o.opened for o in opened)


def test_a_key_that_ages_out_while_the_others_are_fetched_still_opens_its_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyring = Keyring()
    a, b = (keyring.sealed(line(n)) for n in numbers(2))
    clock = [1000.0]
    monkeypatch.setattr(crypto, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    fetch = keyring.fetch

    async def slow_fetch(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        clock[0] += 2.0  # the keyring's answer takes two seconds
        return await fetch(pairs)

    opener = FeedOpener(KEYS, slow_fetch, DataKeyCache(max_age=600.0))
    assert rejected(asyncio.run(opener.open(deliveries([a])))) == []  # A's key cached at 1002
    clock[0] = 1002.0 + 599.0  # A's key is 599 s old when the next batch looks, 601 s when used
    assert rejected(asyncio.run(opener.open(deliveries([a, b], first=1)))) == []


def test_every_record_of_a_country_opens_with_more_persons_than_the_cache_holds(
    tmp_path: Path,
) -> None:
    """The national run in small: the country's feeds sealed, read in the benchmark's order in
    batches of 500 by an opener whose cache holds 600 keys (more than a batch, fewer than the pairs)."""
    country = generate_country(1500, seed=21, out=tmp_path, today=date(2026, 12, 1))
    keyring = Keyring()
    opener = FeedOpener(KEYS, keyring.fetch, DataKeyCache(capacity=600))
    refused: list[str] = []
    for feed in ("ss12000", "population"):
        values = [keyring.sealed(raw.rstrip()) for f in country.files(feed) for raw in f.open("rb")]
        for start in range(0, len(values), 500):
            batch = deliveries(values[start : start + 500], first=start)
            refused += rejected(asyncio.run(opener.open(batch)))
    assert refused == []
