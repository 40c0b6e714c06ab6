"""The plan editor's form: what is sent to the measures service, a refusal and a warning said
next to the field the user typed in (an effort's row, not the service's index), nothing lost."""

from __future__ import annotations

from datetime import date

from services.web.adapters.services_api import Refused
from services.web.commands import measures as measure_cases
from services.web.commands import plan
from services.web.domain.measures import CONFLICT

POSTED = {
    "csrf": "t", "revision_id": "8f6f9f8e-2b9a-4c55-9a57-2b1f4f9b0c11",
    "valid_from": "2026-02-27", "goal": " Börja på komvux ", "goals": "komvux\n\n körkort \n",
    "needs": "", "expectations": "", "interests": "",
    "insats-0-description": "", "insats-0-responsible": "municipality",  # blank: not sent
    "insats-1-description": "Söka komvux", "insats-1-responsible": "youth",
    "insats-1-start_date": "2026-03-02", "insats-1-end_date": "2026-03-01",
    "insats-2-description": "Inskrivning", "insats-2-responsible": "other_actor",
    "insats-2-other_actor": "Arbetsförmedlingen",
    "follow_up_on": "", "evaluation_on": "2026-06-01",
}  # fmt: skip


def test_the_form_is_sent_without_its_blank_rows_and_each_effort_remembers_its_row() -> None:
    form = plan.form_of(POSTED)
    body, rows = plan.plan_body(form)
    assert rows == [1, 2]
    assert body == {
        "goal": "Börja på komvux",
        "mapping": {"goals": ["komvux", "körkort"], "needs": [], "expectations": [],
                    "interests": []},
        "efforts": [
            {"description": "Söka komvux", "responsible": "youth", "start_date": "2026-03-02",
             "end_date": "2026-03-01"},
            {"description": "Inskrivning", "responsible": "other_actor",
             "other_actor": "Arbetsförmedlingen"},
        ],
        "revision_id": POSTED["revision_id"],
        "valid_from": "2026-02-27",
        "evaluation_on": "2026-06-01",
    }  # fmt: skip


def test_a_refusal_of_an_effort_is_said_beside_the_row_the_user_typed_it_in() -> None:
    form = plan.form_of(POSTED)
    refused = Refused(
        422, "invalid", [{"field": "efforts[0].end_date", "problem": "is before start_date"}]
    )
    assert plan.plan_refusal(refused, form) == {
        "insats-1-end_date": "Insats 2: slutdatum får inte vara före startdatumet"
    }
    pydantic = Refused(422, "invalid", [
        {"field": "body.efforts.1.description", "problem": "String should have at least 1 character"},
        {"field": "body.mapping.goals.0", "problem": "String should have at most 300 characters"},
        {"field": "follow_up_on", "problem": "is before valid_from"},
    ])  # fmt: skip
    assert plan.plan_refusal(pydantic, form) == {
        "insats-2-description": "Insats 3: beskrivning måste fyllas i",
        "goals": "Ungdomens mål är för långt",
        "follow_up_on": "Datum för uppföljning får inte vara före datumet planen gäller från",
    }
    # What the user typed stays in the form as typed.
    assert form.goal == " Börja på komvux "
    assert form.efforts[1]["end_date"] == "2026-03-01"


def test_a_warning_about_sensitive_data_is_said_in_swedish_naming_the_field() -> None:
    form = plan.form_of(POSTED)
    warnings = [
        "goal: may contain sensitive personal data (health); documentation under the activity "
        "responsibility must not hold it",
        "efforts[1].description: may contain sensitive personal data (crime, religion); "
        "documentation under the activity responsibility must not hold it",
    ]
    said = plan.warnings_said(warnings, form, [1, 2])
    assert said[0].startswith(
        "Målet med insatserna kan innehålla känsliga personuppgifter (hälsa)."
    )
    assert said[1].startswith("Insats 3: beskrivning kan innehålla känsliga personuppgifter "
                              "(brott, religion).")  # fmt: skip
    assert all("may contain" not in s for s in said)


def test_the_editor_starts_from_the_plan_in_force_with_blank_rows_for_new_efforts() -> None:
    revision = {
        "goal": "Komvux", "mapping": {"goals": ["a", "b"], "needs": None},
        "efforts": [{"effort_id": "e1", "description": "SYV", "responsible": "municipality",
                     "start_date": "2026-03-02", "end_date": None, "other_actor": None}],
        "follow_up_on": "2026-04-01", "evaluation_on": None,
    }  # fmt: skip
    form = plan.form_from_plan(revision, date(2026, 3, 2))
    assert (form.valid_from, form.goal, form.goals, form.needs) == (
        "2026-03-02",
        "Komvux",
        "a\nb",
        "",
    )
    assert form.efforts[0]["effort_id"] == "e1"
    assert form.efforts[0]["end_date"] == ""
    assert len(form.efforts) == 1 + plan.BLANK_EFFORTS
    fresh = plan.form_from_plan(None, date(2026, 3, 2))
    assert fresh.valid_from == "2026-03-02"
    assert fresh.revision_id != plan.form_from_plan(None, date(2026, 3, 2)).revision_id


def test_a_step_refused_by_the_lifecycle_is_said_for_the_measure_and_a_date_beside_its_field() -> (
    None
):
    conflict = Refused(
        409,
        "conflict",
        [{"field": "measure_id", "problem": "the measure is declined; this needs it accepted"}],
    )
    said = measure_cases.step_refusal(conflict, "m-1", measure_cases.STEP_LABELS, "on")
    assert said == {"m-1": CONFLICT}
    early = Refused(
        422, "invalid", [{"field": "declined_on", "problem": "is before offered_on (2026-02-27)"}]
    )
    said = measure_cases.step_refusal(early, "m-1", measure_cases.STEP_LABELS, "on")
    assert said == {"m-1-on": "Datum för steget får inte vara före datumet insatsen erbjöds"}
    offer = Refused(
        422,
        "invalid",
        [{"field": "measure_type", "problem": "not in the municipality's measure catalogue"}],
    )
    said = measure_cases.step_refusal(offer, "erbjud", measure_cases.OFFER_LABELS, "offered_on")
    assert said == {"erbjud-measure_type": "Insats finns inte i kommunens insatskatalog"}
