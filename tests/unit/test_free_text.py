"""Sealed free text as the views open it (`shared.crypto.open_text`) and as the contracts describe
it. How the measures service records and shows its free text: `tests/unit/measures/test_free_text.py`."""

from __future__ import annotations

import uuid

from shared.contracts.events import IndividualPlanRevised, MeasureOffered
from shared.crypto import new_data_key, open_text, seal

YOUTH = uuid.uuid4()


def test_open_text_names_the_state_and_never_raises() -> None:
    key = new_data_key()
    sealed = seal(key, b"ord", "0180", YOUTH, "plan-text")
    assert open_text(key, sealed, "0180", YOUTH, "plan-text") == ("open", b"ord")
    assert open_text(None, sealed, "0180", YOUTH, "plan-text") == ("redacted", None)
    assert open_text(key, sealed, "0180", YOUTH, "measure-content") == ("tampered", None)
    assert open_text(key, sealed[:-4] + "AAAA", "0180", YOUTH, "plan-text") == ("tampered", None)
    assert open_text(key, "in the clear", "0180", YOUTH, "plan-text") == ("tampered", None)


def test_the_contract_says_the_free_text_is_sealed() -> None:
    plan = IndividualPlanRevised.model_json_schema()
    assert "sealed with the youth's data key" in plan["properties"]["sealed_text"]["description"]
    offer = MeasureOffered.model_json_schema()
    assert (
        "sealed with the youth's data key" in offer["properties"]["sealed_content"]["description"]
    )
