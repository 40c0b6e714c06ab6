"""Letters: the municipality's templates (a new version per save), a letter for one youth or a
batch for the first-contact worklist as one PDF, and the confirmation that a batch was posted,
which records each letter as a contact attempt (channel `letter`) through `attempt_contact`.

Every letter is a batch (one of one for a single youth), so confirming works alike and records
each attempt once: a letter's attempt id is fixed when the batch is made, and the time it was
posted when the batch is first confirmed. Opening names and addresses is written to the access
log (one entry per youth). A protected youth's letter has no address (`domain.letters`).

A youth whose name and address outreach does not keep (identify has published none, or a store
from before letters not yet filled: `commands.backfill`) gets no letter: one youth's letter is
refused (409 naming `youth_id`, "address not known"), and a worklist's batch leaves them out and
names them in the batch (`address_not_known`). Never a letter without an address.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.outreach.adapters import identities
from services.outreach.adapters.letter_mail import Mail, MailSettings, send
from services.outreach.adapters.letter_pdf import letters_pdf
from services.outreach.adapters.letters import Batch, BatchItem, LetterStore
from services.outreach.adapters.store import OutreachApplication
from services.outreach.commands import (
    AttemptContact,
    AttemptRecorded,
    OutreachHandlers,
    WorklistQuery,
)
from services.outreach.domain.letters import Addressee, Template, TemplateError, letter
from shared import access_log
from shared.casework.commands import Caller, CaseRuntime
from shared.casework.domain import CaseNotFound, CommandRefused, NotInScope
from shared.contracts.events import ContactDetails, ContactOutcome, PersonalDetails
from shared.crypto import open_text

SERVICE = "outreach"
MAX_BATCH = 500  # a page of a worklist at most
LETTER_OUTCOME: ContactOutcome = (
    "not_reached"  # a posted letter: no contact yet; recontact follows if no answer
)
DEFAULT_SIGN_OFF = "Kommunens aktivitetsansvar"
NOT_KNOWN = (
    "address not known: no name and address on record for this youth (kept from identify's "
    "events; none published yet)"
)


class LetterNotFound(LookupError):
    """No such template or batch in the caller's municipality (`field` names which)."""

    def __init__(self, field: str) -> None:
        self.field = field
        super().__init__(f"{field}: not found")


@dataclass(frozen=True)
class TemplateDraft:
    name: str
    subject: str
    body: str
    offer: str
    contact: str


@dataclass(frozen=True)
class MakeLetters:
    """Letters by a template: for one youth (`youth_id`), or for a worklist's page."""

    template: str
    version: int | None = None
    caseworker: str | None = None  # who signs; default the municipality's service
    youth_id: uuid.UUID | None = None
    worklist: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class Made:
    batch: Batch
    pdf: bytes
    skipped: int  # youths of the list left out: address not known (`batch.address_not_known`)


@dataclass(frozen=True)
class Emailed:
    batch_id: uuid.UUID
    emailed: int
    already_emailed: int
    without_email: int  # no e-mail address recorded: the letter goes by post only
    forwarded: int  # protected youths' letters: by Skatteverket only, never e-mailed
    # Youths no longer in the scope the batch was made in (they left it, or are in it again for
    # a later period): not e-mailed.
    left_scope: list[uuid.UUID]


@dataclass(frozen=True)
class Confirmed:
    batch_id: uuid.UUID
    sent_at: datetime
    recorded: int
    already_recorded: int
    not_recorded: list[dict[str, Any]]


class LetterHandlers:
    def __init__(
        self,
        runtime: CaseRuntime[OutreachApplication],
        outreach: OutreachHandlers,
        mail: MailSettings | None = None,
    ) -> None:
        self.runtime = runtime
        self.outreach = outreach
        self.mail = mail or MailSettings(host=None)

    @property
    def store(self) -> LetterStore:
        application = self.runtime.application
        return LetterStore(application.recorder.datastore, self.runtime.schema)  # type: ignore[attr-defined]

    # -- templates ------------------------------------------------------------------------------

    async def template(self, caller: Caller, name: str, version: int | None = None) -> Template:
        found = await asyncio.to_thread(self.store.template, caller.tenant, name, version)
        if found is None:
            raise LetterNotFound("version" if version is not None else "name")
        return found

    async def save_template(self, caller: Caller, draft: TemplateDraft) -> Template:
        """Check the template and save it as the municipality's next version."""
        template = Template(draft.name, 0, draft.subject, draft.body, draft.offer, draft.contact)
        try:
            template.check()
        except TemplateError as error:
            raise CommandRefused(error.field, error.reason) from None
        version = await asyncio.to_thread(
            self.store.save_template, caller.tenant, template, caller.actor
        )
        return Template(draft.name, version, draft.subject, draft.body, draft.offer, draft.contact)

    # -- letters --------------------------------------------------------------------------------

    async def make(self, caller: Caller, command: MakeLetters) -> Made:
        """A batch of letters and its PDF: the youth's, or the worklist's next youths not in a
        batch awaiting confirmation (at most `limit`); refused when there is nobody to write to."""
        template = await self.template(caller, command.template, command.version)
        today = self.outreach.clock.today()
        store = self.store
        if command.youth_id is not None:
            application = self.runtime.application
            case = await asyncio.to_thread(application.case_of, command.youth_id, caller.tenant)
            if not case.in_scope:
                raise NotInScope
            candidates = [command.youth_id]
        else:
            assert command.worklist is not None
            query = WorklistQuery(command.worklist, limit=MAX_BATCH)  # type: ignore[arg-type]
            _, items = await self.outreach.worklist(caller, query)
            pending = await asyncio.to_thread(store.pending_youths, caller.tenant, today)
            candidates = [i.youth_id for i in items if i.youth_id not in pending]
        details = await self._open(caller, store, candidates)
        chosen: list[uuid.UUID] = []
        not_known: list[uuid.UUID] = []
        for youth_id in candidates:
            if len(chosen) == command.limit:
                break
            (chosen if youth_id in details else not_known).append(youth_id)
        if command.youth_id is not None and not chosen:
            raise CommandRefused("youth_id", NOT_KNOWN, conflict=True)
        if not chosen:
            reason = f"no youth on the list with an address known ({len(not_known)} not known)"
            raise CommandRefused("worklist", reason, conflict=True)
        addressees = {y: _addressee(details[y]) for y in chosen}
        batch = Batch(
            batch_id=uuid.uuid4(), tenant=caller.tenant, worklist=command.worklist,
            template=template.name, template_version=template.version,
            caseworker=command.caseworker or DEFAULT_SIGN_OFF, made_on=today,
            made_by=caller.actor, sent_at=None, confirmed_by=None,
            items=tuple(BatchItem(y, addressees[y].protected, uuid.uuid4()) for y in chosen),
            address_not_known=tuple(not_known),
        )  # fmt: skip
        pdf = await asyncio.to_thread(_pdf, template, batch, addressees)
        await asyncio.to_thread(store.save_batch, batch)
        await self._log(caller, chosen)
        return Made(batch, pdf, len(not_known))

    async def batch(self, caller: Caller, batch_id: uuid.UUID) -> Batch:
        found = await asyncio.to_thread(self.store.batch, caller.tenant, batch_id)
        if found is None:
            raise LetterNotFound("batch_id")
        return found

    async def pdf(self, caller: Caller, batch_id: uuid.UUID) -> tuple[bytes, int]:
        """The batch's PDF again, as it was made (the template version and sign-off it used),
        and how many of its letters it leaves out: their address is no longer known (retention
        destroyed the key). Refused (409 naming `batch_id`) when that is every letter."""
        batch = await self.batch(caller, batch_id)
        template = await self.template(caller, batch.template, batch.template_version)
        store = self.store
        details = await self._open(caller, store, [i.youth_id for i in batch.items])
        addressees = {y: _addressee(d) for y, d in details.items()}
        if not addressees:
            reason = "address not known for any of its letters (no longer on record)"
            raise CommandRefused("batch_id", reason, conflict=True)
        pdf = await asyncio.to_thread(_pdf, template, batch, addressees)
        await self._log(caller, list(addressees))
        return pdf, len(batch.items) - len(addressees)

    async def confirm_sent(
        self, caller: Caller, batch_id: uuid.UUID, sent_at: datetime | None = None
    ) -> Confirmed:
        """The batch was posted: each letter a contact attempt (channel `letter`), once — a
        repeated confirmation records nothing new. A youth who left scope meanwhile is named in
        `not_recorded`."""
        batch = await self.batch(caller, batch_id)
        when = batch.sent_at or sent_at or self.outreach.clock.now()  # a repeat keeps the first
        if batch.sent_at is None:
            self.outreach.clock.check_past("sent_at", when)
        stored = await asyncio.to_thread(
            self.store.mark_sent, caller.tenant, batch_id, when, caller.actor
        )
        results = await self._attempts(caller, [
            AttemptContact(item.youth_id, "letter", LETTER_OUTCOME, stored, item.contact_attempt_id)
            for item in batch.items
        ])  # fmt: skip
        recorded = again = 0
        refused: list[dict[str, Any]] = []
        for item, result in zip(batch.items, results, strict=True):
            if result is None:
                refused.append({"youth_id": item.youth_id, "reason": "not in scope"})
            else:
                recorded, again = recorded + result.recorded, again + (not result.recorded)
        return Confirmed(batch_id, stored, recorded, again, refused)

    async def _attempts(
        self, caller: Caller, attempts: list[AttemptContact]
    ) -> list[AttemptRecorded | None]:
        """Record the attempts all at once (the group-commit writer saves them in a few
        transactions, not one each); None for a youth no longer in scope."""
        results = await asyncio.gather(
            *(self.outreach.attempt_contact(caller, attempt) for attempt in attempts),
            return_exceptions=True,
        )
        out: list[AttemptRecorded | None] = []
        for result in results:
            if isinstance(result, CaseNotFound | NotInScope):
                out.append(None)
            elif isinstance(result, BaseException):
                raise result
            else:
                out.append(result)
        return out

    async def email(
        self, caller: Caller, batch_id: uuid.UUID, at: datetime | None = None
    ) -> Emailed:
        """E-mail the batch's letters to the youths whose e-mail address is recorded, each once,
        and record each as a contact attempt (channel `email`). A protected youth's letter is
        never e-mailed, nor the letter of a youth who has left the scope period it was made in
        (the activity responsibility no longer covers them, or covers them for a later period
        the letter does not know of; named in `left_scope`). Refused (409) when the settings name
        no SMTP server."""
        if not self.mail.enabled:
            raise CommandRefused("delivery", "e-mail delivery is not configured", conflict=True)
        when = at or self.outreach.clock.now()
        self.outreach.clock.check_past("at", when)
        batch = await self.batch(caller, batch_id)
        template = await self.template(caller, batch.template, batch.template_version)
        unsent = [i for i in batch.items if not i.forwarding and i.emailed_at is None]
        in_scope = await asyncio.to_thread(
            self._in_scope, caller.tenant, [i.youth_id for i in unsent], batch.made_on
        )
        waiting = [i for i in unsent if i.youth_id in in_scope]
        addresses = await asyncio.to_thread(
            self._emails, caller.tenant, [i.youth_id for i in waiting]
        )
        details = await self._open(caller, self.store, list(addresses))
        chosen = [i for i in waiting if i.youth_id in details]
        mails = []
        for item in chosen:
            made = letter(template, _addressee(details[item.youth_id]), batch.caseworker,
                          batch.made_on)  # fmt: skip
            pdf = await asyncio.to_thread(letters_pdf, [made], made.subject)
            mails.append(Mail(addresses[item.youth_id], made.subject, made.body, pdf))
        if mails:
            await asyncio.to_thread(send, self.mail, mails)
            youth_ids = [i.youth_id for i in chosen]
            await asyncio.to_thread(self.store.mark_emailed, batch_id, youth_ids, when)
            await self._log(caller, youth_ids)
        await self._attempts(caller, [  # one who left scope since the check is not recorded
            AttemptContact(i.youth_id, "email", LETTER_OUTCOME, when,
                           uuid.uuid5(i.contact_attempt_id, "email"))
            for i in chosen
        ])  # fmt: skip
        return Emailed(
            batch_id=batch_id, emailed=len(chosen),
            already_emailed=sum(i.emailed_at is not None for i in batch.items),
            without_email=len(waiting) - len(chosen),
            forwarded=sum(i.forwarding for i in batch.items),
            left_scope=[i.youth_id for i in unsent if i.youth_id not in in_scope],
        )  # fmt: skip

    def _in_scope(self, tenant: str, youth_ids: list[uuid.UUID], made_on: date) -> set[uuid.UUID]:
        """Those of the youths still in the scope period they were in on `made_on` (blocking):
        in scope now, in a period identify recorded by then (a youth written to in one period,
        who left and came back, is in a later one)."""
        application = self.runtime.application
        found: set[uuid.UUID] = set()
        for youth_id in youth_ids:
            try:
                case = application.case_of(youth_id, tenant)
            except CaseNotFound:
                continue
            began = case.identified_on or case.entered_on
            if case.in_scope and (began is None or began <= made_on):
                found.add(youth_id)
        return found

    def _emails(self, tenant: str, youth_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The e-mail address recorded for each youth who has one (blocking)."""
        application = self.runtime.application
        found = {}
        for youth_id in youth_ids:
            sealed = identities.sealed_contact_details(application, youth_id)
            key = application.stored_data_key(tenant, youth_id) if sealed else None
            if sealed is None or key is None:
                continue
            state, plain = open_text(key, sealed, tenant, youth_id, ContactDetails.PURPOSE)
            if state == "open" and plain is not None:
                email = ContactDetails.model_validate_json(plain).email
                if email:
                    found[youth_id] = str(email)
        return found

    async def _open(
        self, caller: Caller, store: LetterStore, youth_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, PersonalDetails]:
        """The youths' names and addresses, of those who have them (a protected youth's: the
        name). Only those a letter shows are written to the access log (`_log`)."""
        keys = self.runtime.application.tenant_keys
        if keys is None:
            raise RuntimeError("tenant keys: not configured")
        details: dict[uuid.UUID, PersonalDetails] = await asyncio.to_thread(
            store.open_details, keys, caller.tenant, youth_ids
        )
        return {y: d for y, d in details.items() if _addressee(d).has_address}

    async def _log(self, caller: Caller, youth_ids: list[uuid.UUID]) -> None:
        async with self.runtime.scoped(caller.tenant).acquire() as conn:
            entry = access_log.Access(caller.tenant, caller.actor, "casework", "letter", SERVICE)
            await access_log.record(conn, entry, youth_ids)


def _addressee(details: PersonalDetails) -> Addressee:
    return Addressee.of(
        details.given_name, details.family_name, details.street, details.postal_code,
        details.city, details.protected,
    )  # fmt: skip


def _pdf(template: Template, batch: Batch, addressees: dict[uuid.UUID, Addressee]) -> bytes:
    made_on: date = batch.made_on
    letters = [
        letter(template, addressees[i.youth_id], batch.caseworker, made_on)
        for i in batch.items
        if i.youth_id in addressees
    ]
    return letters_pdf(letters, title=f"Brev {batch.batch_id}")
