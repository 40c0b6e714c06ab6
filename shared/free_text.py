"""Free text a caseworker wrote about a youth, as the views show it (DOMAIN.md section 7).

A plan's goal, its mapping's items, its efforts' descriptions, other actors and end reasons, and a
measure's content describe one youth: they are personal data. They are sealed with the youth's
data key before they are recorded (`PlanText`, `MeasureOffered.sealed_content`), so retention
shreds them with the key, and opened only in the caseworker's and the inspector's views. Each item
a view shows says what became of its text (`text`): `open`; `redacted` once retention destroyed
the youth's key (nobody can read it any more); `tampered` when it fails authentication (logged
with the youth id only). Text recorded before sealing began is shown as it was stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from shared.contracts.events import MeasureOffered, PlanText
from shared.crypto import TextState, open_text

log = structlog.get_logger(__name__)

Opener = Callable[[str, str], tuple[TextState, bytes | None]]
"""(sealed, purpose) → the state and, when open, the plaintext."""

EFFORT_TEXT = ("description", "other_actor", "end_reason")
SEALED_PARTS = ("sealed_text", "text_digest")


def opener(
    data_key: bytes | None, tenant: str, youth_id: uuid.UUID, key_refused: bool = False
) -> Opener:
    """Opens the youth's sealed text with their data key as the keyring holds it now (None: gone);
    `key_refused` when the wrapped key itself failed authentication (every text is `tampered`)."""

    def open_(sealed: str, purpose: str) -> tuple[TextState, bytes | None]:
        state, plain = (
            ("tampered", None) if key_refused
            else open_text(data_key, sealed, tenant, youth_id, purpose)
        )  # fmt: skip
        if state == "tampered":
            log.error("sealed free text refused: fails authentication", tenant=tenant,
                      youth_id=str(youth_id), purpose=purpose)  # fmt: skip
        return state, plain

    return open_


def plan_revision_shown(revision: Mapping[str, Any], open_: Opener) -> dict[str, Any]:
    """A plan revision as a view shows it: `goal`, `mapping` and the efforts' text opened from
    `sealed_text` (or null, with `text` saying why); the sealed form and its digest left out."""
    shown = {k: v for k, v in revision.items() if k not in SEALED_PARTS}
    sealed = revision.get("sealed_text")
    efforts = [dict(e) for e in revision.get("efforts") or []]
    if sealed is None and revision.get("goal") is not None:  # recorded before sealing began
        shown["text"] = "open"
        return shown
    # Shredded with the rest of the record (retention), or sealed.
    state, plain = ("redacted", None) if sealed is None else open_(sealed, PlanText.PURPOSE)
    shown["text"] = state
    if plain is None:
        shown.update(goal=None, mapping=None)
        shown["efforts"] = [{**e, **dict.fromkeys(EFFORT_TEXT)} for e in efforts]
        return shown
    text = PlanText.model_validate_json(plain)
    shown["goal"] = text.goal
    shown["mapping"] = text.mapping.model_dump()
    words = [t.model_dump() for t in text.efforts]
    words += [dict.fromkeys(EFFORT_TEXT)] * (len(efforts) - len(words))
    shown["efforts"] = [{**e, **w} for e, w in zip(efforts, words, strict=False)]
    return shown


def content_shown(sealed: str | None, open_: Opener) -> tuple[str | None, TextState | None]:
    """A measure's content as a view shows it, and its state (None, None without content)."""
    if sealed is None:
        return None, None
    state, plain = open_(sealed, MeasureOffered.CONTENT_PURPOSE)
    return (plain.decode() if plain is not None else None), state
