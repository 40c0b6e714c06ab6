"""Corrections and withdrawals of what a caseworker recorded (issue 16).

Nothing recorded is deleted or rewritten. A **correction** is the same fact recorded again with its
new values, naming the event it corrects (`corrects`) and why (`correction`): a corrected contact
attempt is a `ContactAttempted` with the same `contact_attempt_id`, `corrects` = the event id of
the attempt it puts right. A consumer that keeps the fact by its id replaces it; the audit replay
as of an instant before the correction still shows what was recorded then. A correction of a
correction names the correction.

A **withdrawal** says an entry did not happen: `OutreachEntryWithdrawn` on outreach's topic,
`MeasuresEntryWithdrawn` on the measures topic (each declared with its publisher's events), naming the withdrawn event and its type. The
entry stops counting everywhere (register, worklists, contact clocks, SCB) and stays in the
history with who withdrew it, when and why.

The reason is a code from a short list, and optionally a short text sealed with the youth's data
key like plan texts (`SEALED_PURPOSE`), so retention shreds it with the youth's other data.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import IntegrationEvent
from shared.contracts.text import StoredText

CorrectionReasonCode = Literal[
    "wrong_date",  # fel datum
    "wrong_value",  # fel uppgift (kanal, utfall, kod, innehåll)
    "wrong_youth",  # registrerad på fel ungdom
    "recorded_twice",  # registrerad två gånger
    "did_not_happen",  # har inte ägt rum
    "other",  # annat (förklaras i anteckningen)
]

NOTE_MAX_LENGTH = 300
"""A correction's note is capped (characters before sealing): a reason, not a journal."""


class Correction(BaseModel):
    """Why an entry was corrected or withdrawn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: CorrectionReasonCode
    sealed_note: StoredText | None = Field(
        default=None,
        description="Optional short note, sealed with the youth's data key (purpose "
        "'correction-note'); absent when none was written.",
    )

    SEALED_PURPOSE: ClassVar[str] = "correction-note"


class CorrectionFields(BaseModel):
    """The two optional fields every correctable event carries (absent on a first recording)."""

    corrects: uuid.UUID | None = Field(
        default=None, description="The event id this event corrects; absent when it corrects none."
    )
    correction: Correction | None = Field(
        default=None, description="Why, when this event corrects another."
    )


class Withdrawal(IntegrationEvent):
    """What every withdrawal carries; each publisher declares its own on its topic."""

    withdraws: uuid.UUID = Field(description="The event id of the entry that did not happen.")
    withdrawn_event_type: StoredText = Field(description="That entry's event type.")
    correction: Correction
