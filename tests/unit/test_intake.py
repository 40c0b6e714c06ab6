"""Feed records sealed at intake: nothing personal readable on the topic, opened only by identify
with the subject's intake key, refused when tampered, re-bound or not sealed at all."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from pydantic import TypeAdapter

from shared.contracts.feeds import PopulationFeedMessage, Ss12000FeedMessage
from shared.crypto import TenantKeys
from shared.intake import PLAINTEXT_REFUSED, FeedOpener, FeedSealer, refuse_plaintext
from shared.messaging.consumer import Delivery, Rejected
from shared.messaging.parsing import parser
from shared.pseudonym import person_key

MASTER, PSEUDONYM = "a master key of the deployment", "pseudonym key"
NUMBER, OTHER = "200801011230", "200802021238"


class Keyring:
    """The keyring table as the adapter's and identify's statements see it (unit tests only; the
    statements themselves run against PostgreSQL in tests/integration/test_intake_keys.py)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], bytes] = {}

    async def fetch(
        self, _sql: str, tenants: list[str], subjects: list[str]
    ) -> list[dict[str, Any]]:
        return [{"tenant": t, "subject": s, "wrapped": self.rows[(t, s)], "stale": False}
                for t, s in zip(tenants, subjects, strict=True) if (t, s) in self.rows]  # fmt: skip

    async def execute(self, _sql: str, tenants: list[str], subjects: list[str],
                      wrapped: list[bytes]) -> None:  # fmt: skip
        for row in zip(tenants, subjects, wrapped, strict=True):
            self.rows.setdefault(row[:2], row[2])

    async def wrapped(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        return {p: self.rows[p] for p in pairs if p in self.rows}


def population(number: str, tenant: str = "0180") -> bytes:
    return json.dumps({
        "feed": "population", "schema_version": 1, "record_id": str(uuid.uuid4()),
        "tenant": tenant, "observed_at": "2026-03-01T08:00:00Z",
        "record": {"personnummer": number, "given_name": "Zebulonia", "family_name": "Qvist",
                   "address": {"street": "Storgatan 7", "postal_code": "111 22", "city": "Sthlm"},
                   "kommunkod": "0180", "birth_date": f"{number[:4]}-{number[4:6]}-{number[6:8]}",
                   "change_type": "baseline", "effective_date": "2026-03-01"},
    }).encode()  # fmt: skip


def setup() -> tuple[Keyring, FeedSealer, FeedOpener]:
    keyring = Keyring()
    keys = TenantKeys(MASTER)
    return keyring, FeedSealer(keys, PSEUDONYM), FeedOpener(keys, keyring.wrapped)


def delivery(value: bytes, key: bytes | None = None) -> Delivery:
    return Delivery("kaa.feeds.population.v1", 0, 0, key, value)


PARSE = refuse_plaintext(parser(TypeAdapter(PopulationFeedMessage), ["0180"]))


def test_a_sealed_record_shows_only_its_envelope_and_opens_to_the_same_record() -> None:
    keyring, sealer, opener = setup()
    line = population(NUMBER)
    [(key, value)] = asyncio.run(sealer.seal(keyring, [line]))
    assert key == person_key(NUMBER, PSEUDONYM).encode()
    for secret in (NUMBER, "Zebulonia", "Qvist", "Storgatan", "111 22"):
        assert secret.encode() not in value
    envelope = json.loads(value)
    assert envelope["tenant"] == "0180"
    assert envelope["record_id"] == json.loads(line)["record_id"]
    assert set(envelope) == {"feed", "schema_version", "record_id", "tenant", "observed_at",
                             "intake_subject", "sealed"}  # fmt: skip

    [opened] = asyncio.run(opener.open([delivery(value, key)]))
    assert isinstance(opened, Delivery)
    assert opened.opened
    assert PARSE(opened) == PopulationFeedMessage.model_validate_json(line)


def test_one_intake_key_per_person_and_municipality() -> None:
    keyring, sealer, _ = setup()
    asyncio.run(sealer.seal(keyring, [population(NUMBER), population(NUMBER), population(OTHER)]))
    asyncio.run(sealer.seal(keyring, [population(NUMBER, tenant="0181")]))
    assert sorted(t for t, _ in keyring.rows) == ["0180", "0180", "0181"]


def test_tampered_rebound_and_keyless_records_are_refused_without_personal_data() -> None:
    keyring, sealer, opener = setup()
    [(_, mine), (_, theirs)] = asyncio.run(
        sealer.seal(keyring, [population(NUMBER), population(OTHER)])
    )
    data = json.loads(mine)
    tampered = dict(data, sealed=data["sealed"][:-6] + "AAAAAA")
    # The sealed body of one person presented as another's, or as another municipality's.
    rebound = dict(data, intake_subject=json.loads(theirs)["intake_subject"])
    elsewhere = dict(data, tenant="0181")
    outcomes = asyncio.run(opener.open([delivery(json.dumps(d).encode())
                                        for d in (tampered, rebound, elsewhere)]))  # fmt: skip
    assert [type(o) for o in outcomes] == [Rejected] * 3
    reasons = [o.reason for o in outcomes if isinstance(o, Rejected)]
    assert reasons[0].startswith("sealed: the record fails authentication")
    assert reasons[1].startswith("sealed: the record fails authentication")
    assert reasons[2].startswith("sealed: no intake key")
    assert not any(NUMBER in r or "Zebulonia" in r for r in reasons)

    keyring.rows.clear()  # retention destroyed the keys
    _, _, fresh = setup()
    fresh.fetch = keyring.wrapped
    [gone] = asyncio.run(fresh.open([delivery(mine)]))
    assert isinstance(gone, Rejected)
    assert gone.reason.startswith("sealed: no intake key")


def test_a_plain_record_is_refused_after_its_own_checks() -> None:
    assert PARSE(delivery(population(NUMBER))) == Rejected(PLAINTEXT_REFUSED)
    bad = PARSE(delivery(population("200801011231")))
    assert bad == Rejected("record.personnummer: check digit does not match")
    accept = parser(TypeAdapter(PopulationFeedMessage), ["0180"])
    assert isinstance(accept(delivery(population(NUMBER))), PopulationFeedMessage)


def test_lines_without_a_person_are_sealed_and_lines_without_a_tenant_pass_as_they_are() -> None:
    keyring, sealer, opener = setup()
    no_number = population("200801011231")  # check digit: no person key, still sealed
    not_json, no_tenant = b"not json at all", b'{"feed": "population"}'
    sealed = asyncio.run(sealer.seal(keyring, [no_number, not_json, no_tenant]))
    assert sealed[1:] == [(None, not_json), (None, no_tenant)]
    key, value = sealed[0]
    assert key is None
    assert b"Zebulonia" not in value
    assert json.loads(value)["intake_subject"].startswith("line:")
    [opened] = asyncio.run(opener.open([delivery(value)]))
    assert isinstance(opened, Delivery)
    assert PARSE(opened) == Rejected("record.personnummer: check digit does not match")


def test_an_ss12000_person_is_sealed_whole() -> None:
    keyring, sealer, opener = setup()
    line = json.dumps({
        "feed": "ss12000", "schema_version": 1, "record_id": str(uuid.uuid4()), "tenant": "0180",
        "observed_at": "2026-03-01T08:00:00Z",
        "person": {"id": "p1", "givenName": "Zebulonia", "familyName": "Qvist",
                   "civicNo": {"value": NUMBER, "nationality": "SE"}, "enrolments": [],
                   "emails": [{"value": "z@example.org", "type": "Privat"}]},
    }).encode()  # fmt: skip
    [(key, value)] = asyncio.run(sealer.seal(keyring, [line]))
    assert key == person_key(NUMBER, PSEUDONYM).encode()
    assert b"z@example.org" not in value
    assert NUMBER.encode() not in value
    [opened] = asyncio.run(opener.open([delivery(value, key)]))
    assert isinstance(opened, Delivery)
    parse = refuse_plaintext(parser(TypeAdapter(Ss12000FeedMessage), ["0180"]))
    assert parse(opened) == Ss12000FeedMessage.model_validate_json(line)
