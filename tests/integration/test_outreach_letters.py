"""Letters on the real PostgreSQL: the youths' sealed names and addresses kept from identify's
events, a batch for the first-contact worklist as one PDF (a protected youth's letter flagged and
without address), confirming it records each letter as a contact attempt once; templates saved as
versions per municipality."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from services.outreach.adapters import identities
from services.outreach.adapters.letters import LetterStore
from services.outreach.commands import WorklistQuery
from services.outreach.commands.letters import LetterHandlers, MakeLetters, TemplateDraft
from services.outreach.domain.letters import FORWARDING, STANDARD_FIRST_LETTER
from shared import access_log
from shared.casework.commands import Actor
from shared.casework.domain import CommandRefused
from shared.contracts.events import PersonalDetails, PersonalDetailsRecorded, YouthIdentified
from shared.crypto import seal
from tests.integration.outreach_support import ANNA, TENANT, Outreach, envelope, outreach

__all__ = ["outreach"]  # the fixture
DAY = date(2026, 3, 2)
SENT = datetime(2026, 3, 2, 15, tzinfo=UTC)


@dataclass
class Youth:
    youth_id: uuid.UUID
    street: str
    protected: bool


def prepare(outreach: Outreach) -> None:
    """What the outreach service's composition root does when it starts."""
    LetterStore(outreach.application.recorder.datastore, outreach.schema).create_tables()  # type: ignore[attr-defined]
    outreach.application.identify_rows = identities.identify_rows(outreach.schema)


def sealed(outreach: Outreach, youth: uuid.UUID, n: int, protected: bool) -> str:
    details = PersonalDetails(
        personnummer=f"2008010{n % 10}-123{n % 10}", given_name=f"Ung{n}", family_name="Testsson",
        street=None if protected else f"Brevgatan {n}", postal_code=None if protected else "123 45",
        city=None if protected else "Ankeby", protected=protected,
    )  # fmt: skip
    key = outreach.application.data_key(TENANT, youth)
    return seal(key, details.model_dump_json().encode(), TENANT, youth, PersonalDetails.PURPOSE)


def identified(outreach: Outreach, n: int, protected: bool = False) -> Youth:
    """A new youth in scope as identify reports it, with sealed personal details."""
    youth, episode = uuid.uuid4(), uuid.uuid4()
    outreach.episodes[youth] = episode  # for `outreach.leave`
    outreach._take("identify", [YouthIdentified(
        **envelope(youth), scope_episode_id=episode, entered_on=date(2026, 1, 15),
        scope_ends_on=date(2027, 5, 1), rule_version="r", facts={}, identified_on=DAY,
        personal_details=sealed(outreach, youth, n, protected),
    )])  # fmt: skip
    return Youth(youth, f"Brevgatan {n}", protected)


def letters(outreach: Outreach) -> LetterHandlers:
    return LetterHandlers(outreach.runtime, outreach.on(DAY))


async def test_a_batch_of_ten_new_youths_one_protected_prints_and_is_recorded_once(
    outreach: Outreach,
) -> None:
    prepare(outreach)
    youths = [identified(outreach, n, protected=n == 4) for n in range(10)]
    made = await letters(outreach).make(
        ANNA, MakeLetters("first_letter", caseworker="Anna Handläggare", worklist="first_contact")
    )
    assert {i.youth_id for i in made.batch.items} == {y.youth_id for y in youths}
    assert [i.youth_id for i in made.batch.items if i.forwarding] == [youths[4].youth_id]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(made.pdf)).pages)
    assert text.count(STANDARD_FIRST_LETTER.subject) == 10
    assert text.count(FORWARDING) == 2  # the protected letter: at the top and as its address
    assert "Brevgatan 4" not in text
    assert "Ung4 Testsson" in text
    assert all(y.street in text for y in youths if not y.protected)
    assert "2008010" not in text  # no personnummer on a letter

    # Until it is confirmed, the batch's youths are in no new batch; the listing flags them.
    with pytest.raises(CommandRefused) as refused:
        await letters(outreach).make(ANNA, MakeLetters("first_letter", worklist="first_contact"))
    assert (refused.value.field, refused.value.conflict) == ("worklist", True)
    listed = await letters(outreach).batch(ANNA, made.batch.batch_id)
    assert [i.forwarding for i in listed.items] == [i.forwarding for i in made.batch.items]

    first = await letters(outreach).confirm_sent(ANNA, made.batch.batch_id, SENT)
    again = await letters(outreach).confirm_sent(ANNA, made.batch.batch_id, None)
    assert (first.recorded, first.already_recorded, first.not_recorded) == (10, 0, [])
    assert (again.recorded, again.already_recorded, again.sent_at) == (0, 10, SENT)
    for youth in youths:
        case = outreach.application.case_of(youth.youth_id, TENANT)
        assert len(case.contact_attempt_ids) == 1
        assert (case.last_attempt_on, case.last_attempt_outcome) == (SENT.date(), "not_reached")
    _, waiting = await outreach.on(DAY).worklist(ANNA, WorklistQuery("first_contact"))
    assert waiting == []
    _, read = await access_log.entries(outreach.pool, TENANT, youths[4].youth_id)
    assert [(e["what"], e["service"]) for e in read] == [("letter", "outreach")]


async def test_a_letter_for_one_youth_uses_the_newest_details_and_another_municipality_sees_none(
    outreach: Outreach,
) -> None:
    prepare(outreach)
    youth = identified(outreach, 1)
    outreach._take("identify", [PersonalDetailsRecorded(
        **envelope(youth.youth_id), personal_details=sealed(outreach, youth.youth_id, 7, True),
    )])  # fmt: skip
    made = await letters(outreach).make(ANNA, MakeLetters("first_letter", youth_id=youth.youth_id))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(made.pdf)).pages)
    assert "Brevgatan" not in text
    assert FORWARDING in text
    assert [i.forwarding for i in made.batch.items] == [True]
    with pytest.raises(LookupError):
        await letters(outreach).batch(Actor("1480", "user:bo"), made.batch.batch_id)
    with pytest.raises(LookupError):
        await letters(outreach).make(
            Actor("1480", "user:bo"), MakeLetters("first_letter", youth_id=youth.youth_id)
        )


async def test_templates_are_versions_per_municipality(outreach: Outreach) -> None:
    prepare(outreach)
    handlers = letters(outreach)
    assert (await handlers.template(ANNA, "first_letter")).version == 0
    draft = TemplateDraft("first_letter", "Hej {given_name}", "Brev {caseworker}", "Jobb", "Ring")
    assert (await handlers.save_template(ANNA, draft)).version == 1
    assert (await handlers.save_template(ANNA, draft)).version == 2
    assert (await handlers.template(ANNA, "first_letter", 1)).subject == "Hej {given_name}"
    assert (await handlers.template(Actor("1480", "user:bo"), "first_letter")).version == 0
    with pytest.raises(CommandRefused) as refused:
        await handlers.save_template(ANNA, TemplateDraft("x", "Hej", "{namn", "", ""))
    assert (refused.value.field, refused.value.reason) == (
        "body", "line 1, column 1: '{' is not closed (write '{{' for a brace)",
    )  # fmt: skip
    with pytest.raises(LookupError):
        await handlers.template(ANNA, "x")
