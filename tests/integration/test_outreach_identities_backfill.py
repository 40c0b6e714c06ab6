"""A store from before outreach kept the youths' names and addresses, on the real PostgreSQL and
Kafka: the youths in scope without details are filled from identify's events read again from the
beginning (the newest details win, once per store, progress logged without personal data), and a
letter for a youth whose address is not known is refused naming why — never a 500, never a letter
without an address."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pypdf import PdfReader
from structlog.testing import capture_logs

from services.outreach.adapters import identities
from services.outreach.adapters.identify_topic import IdentifyTopic
from services.outreach.adapters.letters import LetterStore
from services.outreach.commands.backfill import backfill_identities
from services.outreach.commands.letters import LetterHandlers, MakeLetters
from shared.casework.domain import CommandRefused
from shared.contracts.events import PersonalDetails, PersonalDetailsRecorded, YouthIdentified
from shared.contracts.topics import IDENTIFY_EVENTS
from shared.crypto import seal
from tests.conftest import RunningInfra, Topics
from tests.integration.outreach_support import TENANT, Outreach, envelope, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
CASEWORKER = "user:anna"


class Caller:
    tenant, actor, roles = TENANT, CASEWORKER, frozenset({"caseworker"})


def sealed(outreach: Outreach, youth: uuid.UUID, street: str) -> str:
    details = PersonalDetails(
        personnummer="20080101-1234", given_name="Ung", family_name="Testsson", street=street,
        postal_code="123 45", city="Ankeby", protected=False,
    )  # fmt: skip
    key = outreach.application.data_key(TENANT, youth)
    return seal(key, details.model_dump_json().encode(), TENANT, youth, PersonalDetails.PURPOSE)


def identified(outreach: Outreach, youth: uuid.UUID, details: str | None) -> YouthIdentified:
    return YouthIdentified(
        **envelope(youth), scope_episode_id=uuid.uuid4(), entered_on=date(2026, 1, 15),
        scope_ends_on=date(2027, 5, 1), rule_version="r", facts={}, identified_on=DAY,
        personal_details=details,
    )  # fmt: skip


async def publish(infra: RunningInfra, topic: str, events: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.bootstrap_servers)
    await producer.start()
    try:
        for event in events:
            value = event.model_dump_json().encode()
            await producer.send_and_wait(topic, value, key=str(event.youth_id).encode())
    finally:
        await producer.stop()


def identified_in(events: list[Any], youth: uuid.UUID) -> YouthIdentified:
    [found] = [e for e in events if isinstance(e, YouthIdentified) and e.youth_id == youth]
    return found


async def kept(outreach: Outreach) -> set[uuid.UUID]:
    rows = await outreach.pool.fetch(
        f'SELECT youth_id FROM "{outreach.schema}".letter_identities'  # noqa: S608
    )
    return {row["youth_id"] for row in rows}


async def test_youths_in_scope_get_their_details_from_identifys_events_once(
    outreach: Outreach, infra: RunningInfra, topics: Topics
) -> None:
    # A store from before letters: cases taken in, no details kept (no `identify_rows` hook).
    LetterStore(outreach.application.recorder.datastore, outreach.schema).create_tables()  # type: ignore[attr-defined]
    moved, later, unknown, left = (uuid.uuid4() for _ in range(4))
    events: list[YouthIdentified | PersonalDetailsRecorded] = [
        identified(outreach, y, sealed(outreach, y, "Gamla gatan 1")) for y in (moved, left)
    ]
    events += [identified(outreach, later, sealed(outreach, later, "Brevgatan 2")),
               identified(outreach, unknown, None)]  # fmt: skip
    newer = envelope(moved) | {"recorded_at": datetime.now(UTC) + timedelta(days=1)}
    events.append(PersonalDetailsRecorded(**newer,
                                          personal_details=sealed(outreach, moved, "Nya vägen 3")))  # fmt: skip
    outreach._take("identify", [e for e in events if isinstance(e, YouthIdentified)])
    outreach.episodes[left] = identified_in(events, left).scope_episode_id
    outreach.leave(left, date(2026, 3, 1))
    await publish(infra, await topics.create(IDENTIFY_EVENTS), events)
    letters = LetterHandlers(outreach.runtime, outreach.on(DAY))
    with pytest.raises(CommandRefused) as refused:
        await letters.make(Caller(), MakeLetters("first_letter", youth_id=moved))
    assert (refused.value.field, refused.value.conflict) == ("youth_id", True)
    assert "address not known" in refused.value.reason

    store = identities.BackfillStore(outreach.application.recorder.datastore, outreach.schema)  # type: ignore[attr-defined]
    topic = IdentifyTopic(infra.bootstrap_servers, f"{topics.prefix}.", [TENANT])
    with capture_logs() as logged:
        filled = await backfill_identities(store, topic, log_every=0.0)
    assert filled == 2
    assert await kept(outreach) == {moved, later}, "the youth who left scope is not needed"
    said = json.dumps(logged, default=str)
    assert all(str(y) not in said for y in (moved, later, unknown, left))
    assert "gatan" not in said
    assert "Testsson" not in said
    assert any(e.get("still_without") == 1 for e in logged)
    assert await backfill_identities(store, topic) is None, "once per store"

    made = await letters.make(Caller(), MakeLetters("first_letter", youth_id=moved))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(made.pdf)).pages)
    assert "Nya vägen 3" in text, "the newest details win"
    assert "Gamla gatan" not in text
    with pytest.raises(CommandRefused) as refused:
        await letters.make(Caller(), MakeLetters("first_letter", youth_id=unknown))
    assert (refused.value.field, refused.value.conflict) == ("youth_id", True)
    assert "address not known" in refused.value.reason


async def test_a_new_store_is_marked_done_without_reading(outreach: Outreach) -> None:
    LetterStore(outreach.application.recorder.datastore, outreach.schema).create_tables()  # type: ignore[attr-defined]
    store = identities.BackfillStore(outreach.application.recorder.datastore, outreach.schema)  # type: ignore[attr-defined]

    class Unread:
        def read_through(self) -> Any:
            raise AssertionError("nothing to fill: identify's events are not read")

    assert await backfill_identities(store, Unread()) == 0
    outreach.identify()  # a youth in scope later, without details kept: the live consumer's job
    assert await backfill_identities(store, Unread()) is None


async def test_a_batch_names_the_youths_left_out_because_their_address_is_not_known(
    outreach: Outreach,
) -> None:
    LetterStore(outreach.application.recorder.datastore, outreach.schema).create_tables()  # type: ignore[attr-defined]
    outreach.application.identify_rows = identities.identify_rows(outreach.schema)
    known, unknown = uuid.uuid4(), uuid.uuid4()
    outreach._take("identify", [identified(outreach, known, sealed(outreach, known, "Brevgatan 2")),
                                identified(outreach, unknown, None)])  # fmt: skip
    letters = LetterHandlers(outreach.runtime, outreach.on(DAY))
    made = await letters.make(Caller(), MakeLetters("first_letter", worklist="first_contact"))
    assert [i.youth_id for i in made.batch.items] == [known]
    assert (made.skipped, made.batch.address_not_known) == (1, (unknown,))
    listed = await letters.batch(Caller(), made.batch.batch_id)
    assert listed.address_not_known == (unknown,)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(made.pdf)).pages)
    assert text.count("Brevgatan 2") == 1, "one letter, with its address"
    with pytest.raises(CommandRefused) as refused:  # the rest of the list: nobody to write to
        await letters.make(Caller(), MakeLetters("first_letter", worklist="first_contact"))
    assert (refused.value.field, refused.value.conflict) == ("worklist", True)
    assert "1 not known" in refused.value.reason


async def test_a_batch_printed_again_leaves_out_and_counts_letters_whose_address_is_gone(
    outreach: Outreach,
) -> None:
    LetterStore(outreach.application.recorder.datastore, outreach.schema).create_tables()  # type: ignore[attr-defined]
    outreach.application.identify_rows = identities.identify_rows(outreach.schema)
    first, second = uuid.uuid4(), uuid.uuid4()
    outreach._take("identify", [identified(outreach, y, sealed(outreach, y, f"Brevgatan {n}"))
                                for n, y in enumerate((first, second))])  # fmt: skip
    letters = LetterHandlers(outreach.runtime, outreach.on(DAY))
    made = await letters.make(Caller(), MakeLetters("first_letter", worklist="first_contact"))
    assert len(made.batch.items) == 2
    for gone, expected in ((first, 1), (second, None)):  # retention destroys the key
        await outreach.pool.execute("DELETE FROM keyring.youth_keys WHERE youth_id = $1", gone)
        if expected is None:
            with pytest.raises(CommandRefused) as refused:
                await letters.pdf(Caller(), made.batch.batch_id)
            assert (refused.value.field, refused.value.conflict) == ("batch_id", True)
            continue
        pdf, skipped = await letters.pdf(Caller(), made.batch.batch_id)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert skipped == expected
        assert "Brevgatan 0" not in text
        assert "Brevgatan 1" in text
