"""What the youth's own extract shows of corrections and withdrawals (GDPR art. 15: the data
processed, so the values a correction put right too), on the database."""

from __future__ import annotations

from services.register.domain.extract_wording import swedish_instant
from shared.contracts.events import (
    ContactAttempted,
    ContactDetailsRecorded,
    Correction,
    OutreachEntryWithdrawn,
)
from tests.integration.extract_support import Extracts, Youth, extract, extracts, facts, pdf_text
from tests.integration.register_support import register

__all__ = ["extracts", "register"]  # the fixtures


async def test_a_correction_shows_the_values_before_and_after_and_a_withdrawal_those_taken_away(
    extracts: Extracts,
) -> None:
    """GDPR art. 15: the data processed, so the values a correction put right too (the register
    keeps them in its archive); sealed ones (contact details) are stated as kept on request."""
    youth = Youth()
    outreach = youth.outreach()
    await extracts.apply(youth, youth.identified(), *outreach)
    details, wrong, fixed, work = outreach[0], outreach[1], outreach[2], outreach[5]
    assert isinstance(details, ContactDetailsRecorded)
    assert isinstance(wrong, ContactAttempted)
    assert isinstance(fixed, ContactAttempted)
    withdrawn = OutreachEntryWithdrawn(
        **youth.envelope("user:bertil"), withdraws=work.event_id,
        withdrawn_event_type=work.event_type, correction=Correction(reason="did_not_happen"),
    )  # fmt: skip
    newer = ContactDetailsRecorded(
        **youth.envelope(), contact_details=details.contact_details, corrects=details.event_id,
        correction=Correction(reason="wrong_value"),
    )  # fmt: skip
    await extracts.apply(youth, withdrawn, newer)
    found = await extract(extracts, youth.id)
    by_target = {c["target_event_type"] + c["kind"]: c for c in found["corrections"]}
    attempt = by_target["ContactAttemptedcorrected"]
    assert attempt["role_text"] == "en medarbetare"
    shown = {v["field"]: v["value_text"] for v in attempt["earlier_values"]}
    assert shown["attempted_at"] == swedish_instant(wrong.attempted_at)
    assert shown["outcome"] == "vi nådde dig inte"
    now = {v["field"]: v["value_text"] for v in attempt["new_values"]}
    assert now["attempted_at"] == swedish_instant(fixed.attempted_at)
    assert attempt["earlier_values_text"] is None, "everything it held is shown"
    taken = by_target["OccupationRecordedwithdrawn"]
    assert taken["new_values"] is None
    assert [v["field_text"] for v in taken["earlier_values"]][:2] == ["sysselsättning", "tid"]
    sealed = by_target["ContactDetailsRecordedcorrected"]
    assert sealed["earlier_values"] == []
    assert "lämnas ut till dig om du ber om det" in sealed["earlier_values_text"]
    assert "vera@example.se" not in str(sealed)
    text = pdf_text(found)
    assert [(f, w) for f, w in facts(found) if w not in text] == []
    assert "Tidigare uppgifter: när 3 februari 2026 kl. 11.00" in text
    assert "Nya uppgifter: när 4 februari 2026 kl. 11.00" in text
