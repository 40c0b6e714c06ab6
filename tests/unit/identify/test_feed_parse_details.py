"""A population record's personal details are written as `PersonalDetails.model_dump_json` writes
them, byte for byte: the person keeps a keyed digest of those bytes, so a record whose details did
not change must give the digest details recorded before gave (or every person would announce a
change). `details_json` writes them without building the model; this holds the two equal."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import orjson
import pytest

from kaa.dev.synthetic_feeds import generate
from services.identify.adapters.feeds import details_json
from shared.contracts.events import PersonalDetails
from shared.contracts.feeds import PopulationFeedMessage, PopulationRecord
from shared.feed_adapter import read_lines

NAMES = [
    "Åsa-Märta", 'Zoë "Zo" O\'Brien', "back\\slash/slash", "Ødegård Ñúñez", "李小龍", "🙂 Emoji",
    "e\u0301 combining", "non\u00a0breaking", "<b>&amp;</b>", "tab-free but 'quoted'", "",
    "\u00ad soft hyphen", "\u200b zero width", "\U0001f1f8\U0001f1ea",
]  # fmt: skip


def model_json(record: PopulationRecord) -> bytes:
    address = None if record.protection_marking else record.address
    return (
        PersonalDetails(
            personnummer=record.personnummer,
            given_name=record.given_name,
            family_name=record.family_name,
            street=address.street if address else None,
            postal_code=address.postal_code if address else None,
            city=address.city if address else None,
            protected=record.protection_marking,
        )
        .model_dump_json()
        .encode()
    )


def test_generated_records_give_the_models_bytes(tmp_path: Path) -> None:
    feeds = generate(300, "0180", seed=7, out=tmp_path, today=date(2026, 12, 1))
    records = [PopulationFeedMessage.model_validate_json(line).record
               for line in read_lines(feeds.population)]  # fmt: skip
    assert len(records) >= 300
    for record in records:
        assert details_json(record) == model_json(record)


@pytest.mark.parametrize("protected", [False, True])
def test_unusual_but_valid_text_gives_the_models_bytes(protected: bool) -> None:
    rng = random.Random(21)
    for given in NAMES:
        family = rng.choice(NAMES)
        record = PopulationRecord.model_validate(
            {"personnummer": "200801011230", "given_name": given, "family_name": family,
             "address": {"street": f"{family} 7", "postal_code": "111 22", "city": given},
             "kommunkod": "0180", "birth_date": "2008-01-01", "protection_marking": protected,
             "change_type": "baseline", "effective_date": "2026-03-01"}
        )  # fmt: skip
        assert details_json(record) == model_json(record)
        assert orjson.loads(details_json(record))["street"] == (
            None if protected else f"{family} 7"
        )


def test_a_record_without_an_address_gives_the_models_bytes() -> None:
    record = PopulationRecord.model_validate(
        {"personnummer": "200801011230", "given_name": "A", "family_name": "B",
         "kommunkod": "0180", "birth_date": "2008-01-01", "change_type": "moved_in",
         "effective_date": "2026-03-01"}
    )  # fmt: skip
    assert details_json(record) == model_json(record)
    assert list(orjson.loads(details_json(record))) == list(PersonalDetails.model_fields)
