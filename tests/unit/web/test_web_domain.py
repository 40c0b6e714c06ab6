"""What the pages say: the contact clock in colour and words, Swedish dates and codes."""

from __future__ import annotations

from datetime import date

import pytest

from services.web.domain import swedish
from services.web.domain.clock import shown


@pytest.mark.parametrize(
    ("waiting", "level", "text"),
    [
        (0, "ok", "0 arbetsdagar av 10: 10 arbetsdagar kvar"),
        (7, "ok", "7 arbetsdagar av 10: 3 arbetsdagar kvar"),
        (8, "soon", "8 arbetsdagar av 10: 2 arbetsdagar kvar"),
        (9, "soon", "9 arbetsdagar av 10: 1 arbetsdag kvar"),
        (10, "soon", "10 arbetsdagar av 10: 0 arbetsdagar kvar"),
        (11, "late", "11 arbetsdagar av 10: 1 arbetsdag över gränsen"),
    ],
)
def test_a_waiting_clock_says_in_words_what_its_colour_says(
    waiting: int, level: str, text: str
) -> None:
    clock = {"limit_working_days": 10, "working_days_waiting": waiting, "within_limit": True}
    said = shown(clock)
    assert said is not None
    assert (said.level, said.text) == (level, text)


def test_a_stopped_clock_says_when_and_whether_within_the_limit() -> None:
    within = shown({"limit_working_days": 10, "working_days_to_first_attempt": 4,
                    "within_limit": True})  # fmt: skip
    late = shown({"limit_working_days": 10, "working_days_to_first_attempt": 12,
                  "within_limit": False})  # fmt: skip
    assert within is not None
    assert late is not None
    assert within.text == "Första kontaktförsök efter 4 arbetsdagar (inom gränsen 10)"
    assert late.text == "Första kontaktförsök efter 12 arbetsdagar (över gränsen 10)"
    assert within.level == late.level == "done"
    assert shown(None) is None


def test_dates_and_codes_in_swedish() -> None:
    assert swedish.swedish_date(date(2026, 12, 1)) == "1 december 2026"
    assert swedish.swedish_iso_date("2026-03-02T10:00:00+00:00") == "2 mars 2026"
    assert swedish.swedish_iso_date(None) == "–"
    assert swedish.label(swedish.OUTCOMES, "not_reached") == "Inte nådd"
    assert swedish.label(swedish.OUTCOMES, "a_newer_code") == "a_newer_code"
    assert swedish.working_days(1) == "1 arbetsdag"


def test_every_code_the_services_send_has_a_swedish_word() -> None:
    from typing import get_args

    from services.outreach.adapters.worklists import LIST_NAMES
    from shared.auth import ROLES
    from shared.contracts.events import LeavingReason
    from shared.contracts.events.outreach import ContactChannel, ContactOutcome

    assert set(swedish.WORKLISTS) == set(LIST_NAMES)
    assert set(swedish.CHANNELS) == set(get_args(ContactChannel))
    assert set(swedish.OUTCOMES) == set(get_args(ContactOutcome))
    assert set(swedish.ROLES) == set(ROLES)
    assert set(swedish.LEAVING_REASONS) == set(get_args(LeavingReason))


def test_a_refusal_is_said_in_swedish_by_the_field_it_names() -> None:
    from services.web.domain.forms import FORM, field_errors

    labels = {"at": "Tidpunkten", "channel": "Kanalen"}
    shown = field_errors(
        [
            {"field": "body.at", "problem": "is in the future"},
            {"field": "body.channel", "problem": "Input should be 'letter', 'sms' or 'phone'"},
            {"field": "body.unknown_thing", "problem": "Extra inputs are not permitted"},
        ],
        labels,
    )
    assert shown == {
        "at": "Tidpunkten får inte ligga i framtiden",
        "channel": "Kanalen har ett värde som inte finns i listan",
        FORM: "Det gick inte att spara: har ett värde som inte godtogs",
    }
    assert field_errors([], labels, "youth_id: not in scope") == {
        FORM: "Det gick inte att spara: ungdomen är inte i aktivitetsansvaret"
    }


def test_each_item_says_why_it_is_on_its_list_in_swedish() -> None:
    said = swedish.why_said
    fallback = "listans egen mening"
    assert said({"code": "new_in_scope"}, fallback).startswith("Nytt i aktivitetsansvaret")
    assert said({"code": "school_reported"}, fallback).startswith("Skolan har anmält")
    assert said({"code": "not_reached", "last_attempt_on": "2026-03-02",
                 "outcome": "wrong_contact_details"}, fallback) == (
        "Senaste kontaktförsöket 2 mars 2026: fel kontaktuppgifter")  # fmt: skip
    assert said({"code": "occupation_stale", "confirmed_on": "2025-09-01"}, fallback) == (
        "Sysselsättningen bekräftades senast 1 september 2025"
    )
    assert said({"code": "turning_20", "scope_ends_on": "2026-05-01"}, fallback) == (
        "Fyller 20 den 1 maj 2026, då upphör aktivitetsansvaret"
    )
    assert said({"code": "follow_up", "subject": "measure_reoffer"}, fallback) == (
        "Dags att erbjuda den avböjda insatsen igen"
    )
    assert said({"code": "a_newer_code"}, fallback) == fallback
    assert said(None, fallback) == fallback
