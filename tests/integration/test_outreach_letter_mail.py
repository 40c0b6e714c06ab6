"""Letters by e-mail against a real SMTP server the test starts (aiosmtpd): the youths whose
e-mail address is recorded get their letter once, a protected youth's letter is never e-mailed,
and each e-mail is a contact attempt by e-mail."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.outreach.adapters.letter_mail import MailSettings
from services.outreach.commands import RecordContactDetails
from services.outreach.commands.letters import LetterHandlers, MakeLetters
from shared.contracts.events import ContactDetails
from tests.integration.outreach_support import ANNA, TENANT, Outreach, outreach
from tests.integration.test_outreach_letters import DAY, SENT, identified, prepare

__all__ = ["outreach"]  # the fixture


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


async def test_a_youth_who_left_scope_after_the_batch_was_made_is_not_e_mailed(
    outreach: Outreach, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    prepare(outreach)
    youths = [identified(outreach, n) for n in range(4)]
    for youth in youths:
        details = ContactDetails(email=f"ung{youth.street[-1]}@example.se")
        await outreach.on(DAY).record_contact_details(
            ANNA, RecordContactDetails(youth.youth_id, details)
        )
    mail = MailSettings(host="127.0.0.1", port=port, sender="kaa@kommun.se")
    handlers = LetterHandlers(outreach.runtime, outreach.on(DAY), mail)
    made = await handlers.make(ANNA, MakeLetters("first_letter", worklist="first_contact"))
    outreach.leave(youths[1].youth_id, DAY)

    sent = await handlers.email(ANNA, made.batch.batch_id, SENT)
    again = await handlers.email(ANNA, made.batch.batch_id, SENT)

    stayed = [y for n, y in enumerate(youths) if n != 1]
    assert (sent.emailed, sent.left_scope, sent.without_email) == (3, 1, 0)
    assert (again.emailed, again.already_emailed, again.left_scope) == (0, 3, 1)
    assert sorted(to for to, _ in inbox.messages) == sorted(
        [f"ung{y.street[-1]}@example.se"] for y in stayed
    ), "only the youths still in scope get their letter, each once"
    for youth in stayed:
        case = outreach.application.case_of(youth.youth_id, TENANT)
        assert len(case.contact_attempt_ids) == 1, "each youth in scope: one attempt by e-mail"
    left = outreach.application.case_of(youths[1].youth_id, TENANT)
    assert left is None or not left.contact_attempt_ids
