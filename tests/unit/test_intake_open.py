"""Opening a sealed feed record gives back the line the adapter sealed, field for field; a sealed
value that is not base64url fails like a tampered one (a rejection with its reason, no crash)."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from shared.crypto import SealedDataError, new_data_key, open_sealed, seal
from shared.messaging.consumer import Delivery, Rejected
from tests.unit.test_intake import NUMBER, population, setup

SS12000 = {
    "feed": "ss12000", "schema_version": 1, "record_id": "0b7e1c1a-4d1e-4f43-9f57-2d3b1f9e0a11",
    "tenant": "0180", "observed_at": "2026-03-01T08:00:00+01:00", "live": True,
    "source": "ss12000.org-1",
    "person": {"id": "p-1", "givenName": "Åsa \"Ö\" \\ Lind", "civicNo": {"value": NUMBER},
               "unusedField": {"nested": ["ä", 1, None]},
               "enrolments": [{"enroledAt": {"id": "s-1"}, "schoolType": "GY"}]},
}  # fmt: skip


def opened_values(lines: list[bytes]) -> list[Delivery | Rejected]:
    keyring, sealer, opener = setup()
    sealed = asyncio.run(sealer.seal(keyring, lines))
    return asyncio.run(opener.open([Delivery("feed", 0, n, k, v) for n, (k, v) in
                                    enumerate(sealed)]))  # fmt: skip


def test_an_opened_record_is_the_line_the_adapter_sealed() -> None:
    lines = [population(NUMBER), json.dumps(SS12000, ensure_ascii=False).encode()]
    for line, opened in zip(lines, opened_values(lines), strict=True):
        assert isinstance(opened, Delivery)
        assert opened.opened
        assert opened.value is not None
        assert orjson.loads(opened.value) == orjson.loads(line)
        # The envelope's fields first, as sealed, and nothing of the sealing left in it.
        assert list(orjson.loads(opened.value))[:4] == ["feed", "schema_version", "record_id",
                                                       "tenant"]  # fmt: skip
        assert b"intake_subject" not in opened.value
        assert b"kaa1." not in opened.value


def test_a_record_whose_body_is_empty_opens_to_its_envelope() -> None:
    line = json.dumps({k: v for k, v in SS12000.items() if k != "person"}).encode()
    [opened] = opened_values([line])
    assert isinstance(opened, Delivery)
    assert opened.value is not None
    assert orjson.loads(opened.value) == orjson.loads(line)


@pytest.mark.parametrize("text", ["kaa1.åäö", "kaa1.\u0000AAAA", "kaa1.AAAA\udc80"])
def test_a_sealed_value_that_is_not_base64url_fails_authentication(text: str) -> None:
    with pytest.raises(SealedDataError, match="fails authentication"):
        open_sealed(new_data_key(), text, "0180", "intake:x", "feed-intake")


def test_a_record_sealed_with_characters_outside_base64url_is_rejected_with_its_reason() -> None:
    keyring, sealer, opener = setup()
    [(key, value)] = asyncio.run(sealer.seal(keyring, [population(NUMBER)]))
    data = orjson.loads(value)
    for bad in ("kaa1.ÅÄÖ" + data["sealed"][5:], data["sealed"] + "\u00e9"):
        [outcome] = asyncio.run(opener.open([Delivery("feed", 0, 0, key,
                                                      orjson.dumps(dict(data, sealed=bad)))]))  # fmt: skip
        assert isinstance(outcome, Rejected)
        assert outcome.reason.startswith("sealed: the record fails authentication")


def test_sealing_still_opens_with_the_base64url_the_standard_library_reads() -> None:
    key = new_data_key()
    sealed = seal(key, b'{"a": 1}', "0180", "intake:x", "feed-intake")
    assert open_sealed(key, sealed, "0180", "intake:x", "feed-intake") == b'{"a": 1}'
    with pytest.raises(SealedDataError):
        open_sealed(key, sealed.replace("-", "+").replace("_", "/") + "=", "0180", "intake:y",
                    "feed-intake")  # fmt: skip
