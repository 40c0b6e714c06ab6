"""Free text a caseworker writes about a youth in the measures service (a plan's words, a measure's
content) is sealed with the youth's data key (issue 14, section 4): recorded only sealed (in the case's events and the public ones), compared by a keyed
digest, opened only by the views, and shown as `redacted` once the key is gone."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest

from services.measures.adapters.outbound import to_integration_event
from services.measures.commands.entries import measure_shown
from services.measures.domain import MeasuresCase
from shared.casework.domain import CommandRefused
from shared.contracts.events import (
    IndividualPlanRevised,
    MeasureOffered,
    PlanText,
)
from shared.crypto import YouthSealer, new_data_key, open_sealed
from shared.free_text import opener, plan_revision_shown
from tests.unit.measures.support import ACTOR, DATA_KEY, SEALER, YOUTH, measures_case

WORDS = ("MålOrdKvast", "KartOrdGran", "BehovOrdLind", "InsatsOrdEk", "AktörOrdAsp", "SlutOrdRönn")
CONTENT = "InnehållOrdAlm"
LEGACY: Any = MeasuresCase  # its event classes, made by the library (unseen by mypy)


def effort(**changes: Any) -> dict[str, Any]:
    return {"effort_id": str(uuid.uuid4()), "description": WORDS[3], "responsible": "other_actor",
            "other_actor": WORDS[4], "start_date": date(2026, 3, 1), "end_date": date(2026, 3, 4),
            "end_reason": WORDS[5], **changes}  # fmt: skip


def revise(case: MeasuresCase, revision_id: uuid.UUID | None = None, **changes: Any) -> int:
    arguments: dict[str, Any] = {
        "valid_from": date(2026, 3, 5), "goal": WORDS[0],
        "mapping": {"goals": [WORDS[1]], "needs": [WORDS[2]]}, "efforts": [effort()],
        "follow_up_on": None, "evaluation_on": None, "actor": ACTOR, "correlation_id": YOUTH,
        "sealer": SEALER, "revision_id": revision_id, **changes,
    }  # fmt: skip
    return case.revise_plan(**arguments)


def recorded(case: MeasuresCase) -> list[Any]:
    """The case's new events, and their state as the event store writes it."""
    return list(case.collect_events())


def stored_form(event: Any) -> str:
    return json.dumps(event.__dict__, default=str, ensure_ascii=False)


def test_a_plan_revision_is_recorded_and_published_with_its_words_only_sealed() -> None:
    case = measures_case()
    recorded(case)
    assert revise(case) == 1
    events = recorded(case)
    [revised] = [e for e in events if type(e).__name__ == "IndividualPlanRevised"]
    for word in WORDS:
        assert word not in stored_form(revised), "the case's own event store holds it sealed"
    public = to_integration_event(revised)
    assert isinstance(public, IndividualPlanRevised)
    raw = public.to_bytes().decode()
    for word in WORDS:
        assert word not in raw, "the event on Kafka holds it sealed"
    assert (public.goal, public.mapping.goals, public.efforts[0].description) == (None, [], None)
    assert (public.efforts[0].responsible, public.efforts[0].end_date) == (
        "other_actor",
        date(2026, 3, 4),
    ), "codes and dates stay in the clear"
    assert public.sealed_text is not None
    text = PlanText.model_validate_json(
        open_sealed(DATA_KEY, public.sealed_text, "0180", YOUTH, PlanText.PURPOSE)
    )
    assert (text.goal, text.mapping.needs, text.efforts[0].end_reason) == (
        WORDS[0], [WORDS[2]], WORDS[5]
    )  # fmt: skip


def test_a_measure_offer_records_and_publishes_its_content_only_sealed() -> None:
    case = measures_case()
    recorded(case)
    measure = uuid.uuid4()
    assert case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH,
                              CONTENT, SEALER)  # fmt: skip
    [offered] = recorded(case)
    assert CONTENT not in stored_form(offered)
    public = to_integration_event(offered)
    assert isinstance(public, MeasureOffered)
    assert CONTENT not in public.to_bytes().decode()
    assert public.sealed_content is not None
    assert open_sealed(DATA_KEY, public.sealed_content, "0180", YOUTH,
                       MeasureOffered.CONTENT_PURPOSE) == CONTENT.encode()  # fmt: skip
    shown = measure_shown(
        str(measure), case.measures[str(measure)], opener(DATA_KEY, "0180", YOUTH)
    )
    assert (shown["content"], shown["text"]) == (CONTENT, "open")
    assert "content_digest" not in shown
    with pytest.raises(ValueError, match="content: free text is recorded sealed"):
        case.offer_measure(uuid.uuid4(), "internship", date(2026, 3, 3), None, ACTOR, YOUTH,
                           CONTENT)  # fmt: skip


def test_a_retry_is_recognised_by_the_keyed_digest_and_other_words_take_the_id() -> None:
    case = measures_case()
    revision = uuid.uuid4()
    assert revise(case, revision) == 1
    assert revise(case, revision) == 1, "the same words: the same revision (sealed afresh)"
    assert len(case.plan_revisions) == 1
    for changes in ({"goal": "Annat mål"}, {"efforts": [effort(other_actor="Någon annan")]},
                    {"mapping": {"goals": [WORDS[1]]}}):  # fmt: skip
        with pytest.raises(CommandRefused) as refused:
            revise(case, revision, **changes)
        assert (refused.value.field, refused.value.conflict) == ("revision_id", True)
    # A digest under another youth's key is another digest: nothing is comparable across youths.
    other = YouthSealer(new_data_key(), "0180", YOUTH)
    plain = b"the same words"
    assert other.digest(plain, "plan-text") != SEALER.digest(plain, "plan-text")
    assert SEALER.digest(plain, "plan-text") != SEALER.digest(plain, "measure-content")


def test_the_views_open_the_words_and_say_redacted_once_the_key_is_gone() -> None:
    case = measures_case()
    revise(case)
    [revision] = case.plan_revisions
    shown = plan_revision_shown(revision, opener(DATA_KEY, "0180", YOUTH))
    assert (shown["text"], shown["goal"], shown["mapping"]["goals"]) == ("open", WORDS[0],
                                                                         [WORDS[1]])  # fmt: skip
    [shown_effort] = shown["efforts"]
    assert (shown_effort["description"], shown_effort["other_actor"],
            shown_effort["responsible"]) == (WORDS[3], WORDS[4], "other_actor")  # fmt: skip
    assert not {"sealed_text", "text_digest"} & set(shown)

    gone = plan_revision_shown(revision, opener(None, "0180", YOUTH))
    assert (gone["text"], gone["goal"], gone["mapping"]) == ("redacted", None, None)
    assert gone["efforts"][0]["description"] is None
    assert gone["efforts"][0]["start_date"] == date(2026, 3, 1), "dates stay"
    # Another youth's key (a ciphertext moved onto another youth) is refused, not a failure.
    wrong = plan_revision_shown(revision, opener(DATA_KEY, "0180", uuid.uuid4()))
    assert (wrong["text"], wrong["goal"]) == ("tampered", None)
    refused = plan_revision_shown(revision, opener(DATA_KEY, "0180", YOUTH, key_refused=True))
    assert refused["text"] == "tampered"


def test_text_recorded_before_sealing_began_still_reads_and_compares() -> None:
    """A revision and an offer stored in the clear by an earlier version: replayed, shown, and a
    retry of them is recognised; they were never published with their text."""
    case = measures_case()
    revision_id = uuid.uuid4()
    legacy_effort = effort()
    case.trigger_event(
        LEGACY.IndividualPlanRevised, tenant="0180", revision=1, valid_from=date(2026, 3, 5),
        goal=WORDS[0], mapping={"goals": [WORDS[1]], "needs": [WORDS[2]]},
        efforts=[legacy_effort], follow_up_on=None, evaluation_on=None, actor=ACTOR,
        correlation_id=YOUTH, revision_id=str(revision_id), sealed_text=None, text_digest=None,
    )  # fmt: skip
    [legacy] = case.plan_revisions
    shown = plan_revision_shown(legacy, opener(None, "0180", YOUTH))
    assert (shown["text"], shown["goal"]) == ("open", WORDS[0])
    assert revise(case, revision_id, efforts=[{**legacy_effort, "effort_id": "x"}]) == 1
    published = to_integration_event(case.collect_events()[-1])
    assert isinstance(published, IndividualPlanRevised)
    assert (published.goal, published.sealed_text) == (WORDS[0], None)

    measure = uuid.uuid4()
    case.trigger_event(
        LEGACY.MeasureOffered, tenant="0180", measure_id=str(measure),
        measure_type="internship", offered_on=date(2026, 3, 3), can_start_on=None, actor=ACTOR,
        correlation_id=YOUTH, content=CONTENT, content_digest=None,
    )  # fmt: skip
    assert not case.offer_measure(measure, "internship", date(2026, 3, 3), None, ACTOR, YOUTH,
                                  CONTENT, SEALER)  # fmt: skip
    view = measure_shown(str(measure), case.measures[str(measure)], opener(None, "0180", YOUTH))
    assert (view["content"], view["text"]) == (CONTENT, "open")
    offered = to_integration_event(case.collect_events()[-1])
    assert isinstance(offered, MeasureOffered)
    assert offered.sealed_content is None, "clear content was never published, nor is it now"
