"""Letters by e-mail against a real SMTP server the test starts (aiosmtpd): the youths whose
e-mail address is recorded get their letter once, a protected youth's letter is never e-mailed,
and each e-mail is a contact attempt by e-mail."""

from __future__ import annotations

import email
import socket
import uuid
from collections.abc import Iterator
from datetime import date
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.outreach.adapters.letter_mail import MailSettings
from services.outreach.commands import RecordContactDetails
from services.outreach.commands.letters import LetterHandlers, MakeLetters
from shared.contracts.events import ContactDetails, YouthIdentified
from tests.integration.outreach_support import ANNA, TENANT, Outreach, envelope, outreach
from tests.integration.test_outreach_letters import DAY, SENT, Youth, identified, prepare

__all__ = ["outreach"]  # the fixture
LATER = date(2026, 3, 3)  # the day after the batch was made


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_a_batch_is_e_mailed_once_to_those_with_an_address_never_to_a_protected_youth(
    outreach: Outreach, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    prepare(outreach)
    youths = [identified(outreach, n, protected=n == 1) for n in range(3)]
    for youth in youths[:2]:  # the protected youth has an e-mail address too; the third has none
        details = ContactDetails(email=f"ung{youth.street[-1]}@example.se")
        await outreach.on(DAY).record_contact_details(
            ANNA, RecordContactDetails(youth.youth_id, details)
        )
    handlers = LetterHandlers(
        outreach.runtime,
        outreach.on(DAY),
        MailSettings(host="127.0.0.1", port=port, sender="kaa@kommun.se"),
    )
    made = await handlers.make(ANNA, MakeLetters("first_letter", worklist="first_contact"))
    first = await handlers.email(ANNA, made.batch.batch_id, SENT)
    again = await handlers.email(ANNA, made.batch.batch_id, SENT)
    assert (first.emailed, first.without_email, first.forwarded) == (1, 1, 1)
    assert (again.emailed, again.already_emailed) == (0, 1)
    [(to, message)] = inbox.messages
    assert to == ["ung0@example.se"]
    assert message["From"] == "kaa@kommun.se"
    parts = [p.get_content_type() for p in message.walk()]
    assert "application/pdf" in parts
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = text.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "Ung0" in payload.decode()
    case = outreach.application.case_of(youths[0].youth_id, TENANT)
    assert len(case.contact_attempt_ids) == 1
    assert case.last_attempt_on == SENT.date()


async def with_emails(
    outreach: Outreach, port: int, count: int
) -> tuple[list[Youth], LetterHandlers]:
    """`count` youths in scope with an e-mail address, and letter handlers mailing to `port`."""
    prepare(outreach)
    youths = [identified(outreach, n) for n in range(count)]
    for youth in youths:
        details = ContactDetails(email=f"ung{youth.street[-1]}@example.se")
        await outreach.on(DAY).record_contact_details(
            ANNA, RecordContactDetails(youth.youth_id, details)
        )
    mail = MailSettings(host="127.0.0.1", port=port, sender="kaa@kommun.se")
    return youths, LetterHandlers(outreach.runtime, outreach.on(DAY), mail)


async def test_a_youth_no_longer_in_the_scope_period_of_the_batch_is_not_e_mailed(
    outreach: Outreach, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    youths, handlers = await with_emails(outreach, port, 5)
    made = await handlers.make(ANNA, MakeLetters("first_letter", worklist="first_contact"))
    left, back = youths[1].youth_id, youths[2].youth_id
    outreach.leave(left, DAY)
    outreach.leave(back, DAY)  # and in scope again, for a period identify recorded later
    outreach.episodes[back] = uuid.uuid4()
    outreach._take("identify", [YouthIdentified(
        **envelope(back), scope_episode_id=outreach.episodes[back], entered_on=LATER,
        scope_ends_on=date(2027, 5, 1), rule_version="r", facts={}, identified_on=LATER,
    )])  # fmt: skip

    sent = await handlers.email(ANNA, made.batch.batch_id, SENT)
    again = await handlers.email(ANNA, made.batch.batch_id, SENT)

    stayed = [y for y in youths if y.youth_id not in (left, back)]
    assert (sent.emailed, sent.without_email) == (3, 0)
    assert sorted(sent.left_scope) == sorted([left, back])
    assert (again.emailed, again.already_emailed, len(again.left_scope)) == (0, 3, 2)
    assert sorted(to for to, _ in inbox.messages) == sorted(
        [f"ung{y.street[-1]}@example.se"] for y in stayed
    ), "only the youths still in the batch's scope period get their letter, each once"
    for youth in stayed:
        case = outreach.application.case_of(youth.youth_id, TENANT)
        assert len(case.contact_attempt_ids) == 1, "each youth in scope: one attempt by e-mail"
    for youth_id in (left, back):
        assert not outreach.application.case_of(youth_id, TENANT).contact_attempt_ids


async def test_a_youth_who_leaves_scope_while_the_batch_is_e_mailed_stops_no_one_elses_attempt(
    outreach: Outreach, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    youths, handlers = await with_emails(outreach, port, 4)
    made = await handlers.make(ANNA, MakeLetters("first_letter", worklist="first_contact"))
    everyone = {y.youth_id for y in youths}
    # The scope was checked before the youth left (the e-mail and the attempt come after).
    monkeypatch.setattr(handlers, "_in_scope", lambda tenant, ids, made_on: everyone)
    outreach.leave(youths[1].youth_id, DAY)

    sent = await handlers.email(ANNA, made.batch.batch_id, SENT)

    assert (sent.emailed, sent.left_scope) == (4, [])
    assert len(inbox.messages) == 4
    for n, youth in enumerate(youths):
        case = outreach.application.case_of(youth.youth_id, TENANT)
        assert len(case.contact_attempt_ids) == (0 if n == 1 else 1), "no attempt out of scope"
