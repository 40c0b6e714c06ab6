"""The youth's overview, contact work and search over a fake of the services: what each page
shows in Swedish, what each form sends, and a refusal shown next to its field with what was typed
kept and never echoed in the message."""

from __future__ import annotations

from services.web.adapters.services_api import Refused
from services.web.commands.youth import occupations
from tests.unit.web.youth_support import CASE, CSRF, YOUTH, FakeApi, client, user

ATTEMPTS = f"/v1/youths/{YOUTH}/contact-attempts"


def test_the_overview_says_why_the_youth_is_in_scope_in_plain_swedish() -> None:
    api = FakeApi()
    page = client(api).get(f"/ungdomar/{YOUTH}")
    assert page.status_code == 200
    for said in ("Reglerna från 1 juli 2018 (kaa-2018-07-01)", "Folkbokförd i kommunen",
                 "17 år", "ingen gymnasieutbildning", "30 juni 2025", "Sysselsättning nu",
                 "Okänd", "Varför behöver du se vem ungdomen är?"):  # fmt: skip
        assert said in page.text, said
    assert "folkbokford_in_tenant" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert not any(path.endswith("/identity") for _, _, path, _, _ in api.calls)


def test_the_identity_is_opened_only_on_request_with_its_purpose() -> None:
    api = FakeApi()
    api.answers[("register", "GET", f"/v1/youths/{YOUTH}/identity")] = {
        "state": "open", "personnummer": "200803022383", "given_name": "Vera",
        "family_name": "Ek", "address": {"street": "Storgatan 1", "postal_code": "11122",
                                         "city": "Stockholm"}, "protected": False,
    }  # fmt: skip
    web = client(api)
    refused = web.post(f"/ungdomar/{YOUTH}/identitet", data={"csrf": CSRF})
    assert refused.status_code == 422
    assert 'id="identitet-purpose-fel"' in refused.text
    assert not any(path.endswith("/identity") for _, _, path, _, _ in api.calls)
    opened = web.post(f"/ungdomar/{YOUTH}/identitet", data={"csrf": CSRF, "purpose": "casework"})
    assert opened.status_code == 200
    assert "Vera Ek" in opened.text
    assert "200803022383" in opened.text
    asked = [params for _, _, path, params, _ in api.calls if path.endswith("/identity")]
    assert asked == [{"purpose": "casework"}]


def test_a_protected_identity_is_shown_as_protected_as_the_register_answers() -> None:
    api = FakeApi()
    api.answers[("register", "GET", f"/v1/youths/{YOUTH}/identity")] = Refused(
        403, "protected identity: requires the protected-identity grant"
    )
    page = client(api).post(f"/ungdomar/{YOUTH}/identitet",
                            data={"csrf": CSRF, "purpose": "identity"})  # fmt: skip
    assert page.status_code == 200
    assert "Skyddad identitet" in page.text


def test_a_form_without_its_token_is_refused() -> None:
    api = FakeApi()
    page = client(api).post(f"/ungdomar/{YOUTH}/kontakter/forsok", data={"channel": "phone"})
    assert page.status_code == 403
    assert api.posted(ATTEMPTS) == []


def test_an_attempt_is_sent_with_stockholms_offset_and_redirects_to_the_log() -> None:
    api = FakeApi()
    answer = client(api).post(f"/ungdomar/{YOUTH}/kontakter/forsok", data={
        "csrf": CSRF, "channel": "phone", "outcome": "not_reached",
        "attempted_at": "2026-03-02 14:30", "contact_attempt_id": str(YOUTH),
    })  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ungdomar/{YOUTH}/kontakter?sparat=forsok"
    assert api.posted(ATTEMPTS) == [{
        "channel": "phone", "outcome": "not_reached",
        "attempted_at": "2026-03-02T14:30:00+01:00", "contact_attempt_id": str(YOUTH),
    }]  # fmt: skip


def test_an_unreadable_time_is_refused_next_to_the_field_with_what_was_typed_kept() -> None:
    api = FakeApi()
    page = client(api).post(f"/ungdomar/{YOUTH}/kontakter/forsok", data={
        "csrf": CSRF, "channel": "sms", "outcome": "reached", "attempted_at": "2026-13-45 25:00",
    })  # fmt: skip
    assert page.status_code == 422
    assert api.posted(ATTEMPTS) == []
    assert 'id="forsok-attempted_at-fel"' in page.text
    assert 'aria-describedby="forsok-attempted_at-tips forsok-attempted_at-fel"' in page.text
    assert 'value="2026-13-45 25:00"' in page.text  # kept in the field
    assert '<a href="#forsok-attempted_at">Tidpunkt måste vara en tidpunkt' in page.text
    assert '<option value="sms" selected>' in page.text


def test_a_future_time_the_service_refuses_is_said_in_swedish_next_to_the_field() -> None:
    api = FakeApi()
    api.answers[("outreach", "POST", ATTEMPTS)] = Refused(
        422, "attempted_at: is in the future",
        [{"field": "attempted_at", "problem": "is in the future"}],
    )  # fmt: skip
    page = client(api).post(f"/ungdomar/{YOUTH}/kontakter/forsok", data={
        "csrf": CSRF, "channel": "sms", "outcome": "reached", "attempted_at": "2099-01-01 10:00",
    })  # fmt: skip
    assert page.status_code == 422
    assert "Tidpunkt får inte ligga i framtiden" in page.text
    assert 'value="2099-01-01 10:00"' in page.text


def test_the_contact_log_marks_corrected_and_withdrawn_entries() -> None:
    api = FakeApi()
    entries = [
        {"event_type": "ContactAttempted", "actor": "user:anna", "corrects": None,
         "values": {"channel": "phone", "outcome": "not_reached",
                    "attempted_at": "2026-03-02T13:30:00Z"}, "corrected": {"by": "x"},
         "withdrawn": None},
        {"event_type": "ContactEstablished", "actor": "user:berit", "corrects": None,
         "values": {"channel": "home_visit", "established_at": "2026-03-03T09:00:00Z"},
         "corrected": None, "withdrawn": {"by": "y"}},
        {"event_type": "CaseAssigned", "actor": "user:c", "values": {}, "corrects": None},
    ]  # fmt: skip
    api.answers[("outreach", "GET", f"/v1/youths/{YOUTH}/case")] = {**CASE, "entries": entries}
    page = client(api).get(f"/ungdomar/{YOUTH}/kontakter")
    assert page.status_code == 200
    for said in ("Kontaktförsök", "Inte nådd", "2 mars 2026 kl. 14:30", "Rättad", "Hembesök",
                 "Återkallad", "berit"):  # fmt: skip
        assert said in page.text, said
    assert "Tilldelning" not in page.text  # not a contact


def test_an_occupation_is_sent_with_its_code_tense_and_days() -> None:
    api = FakeApi()
    path = f"/v1/youths/{YOUTH}/occupations"
    web = client(api)
    refused = web.post(f"/ungdomar/{YOUTH}/kontakter/sysselsattning",
                       data={"csrf": CSRF, "category": "nope", "tense": "current",
                             "from_date": "2026-02-30"})  # fmt: skip
    assert refused.status_code == 422
    assert "Välj sysselsättning." in refused.text
    assert "Från och med måste vara" in refused.text
    assert api.posted(path) == []
    code = next(iter(occupations()))
    done = web.post(f"/ungdomar/{YOUTH}/kontakter/sysselsattning",
                    data={"csrf": CSRF, "category": code, "tense": "planned",
                          "from_date": "2026-08-15", "to_date": ""})  # fmt: skip
    assert done.status_code == 303
    assert api.posted(path) == [
        {"category": code, "tense": "planned", "from_date": "2026-08-15", "to_date": None}
    ]


def test_a_caseworker_takes_an_unassigned_case_and_a_coordinator_assigns_any() -> None:
    api = FakeApi()
    assert (
        'action="/ungdomar/' + str(YOUTH) + '/tilldelning"'
        not in client(api).get(f"/ungdomar/{YOUTH}").text
    )
    assert f'action="/ungdomar/{YOUTH}/ta-arende"' in client(api).get(f"/ungdomar/{YOUTH}").text
    taken = {**CASE, "assignee_kind": "caseworker", "assignee": "user:berit"}
    api.answers[("outreach", "GET", f"/v1/youths/{YOUTH}/case")] = taken
    held = client(api).get(f"/ungdomar/{YOUTH}").text
    assert "Ärendet är tilldelat: berit." in held
    assert "ta-arende" not in held  # someone else's: a coordinator reassigns
    web = client(api, user("coordinator"))
    assert "Tilldela ärendet" in web.get(f"/ungdomar/{YOUTH}").text
    done = web.post(f"/ungdomar/{YOUTH}/tilldelning",
                    data={"csrf": CSRF, "assignee_kind": "team", "assignee": "ungdomsteamet"})  # fmt: skip
    assert done.status_code == 303
    assert api.posted(f"/v1/youths/{YOUTH}/assignment") == [
        {"assignee_kind": "team", "assignee": "ungdomsteamet"}
    ]


def test_a_service_that_refuses_the_role_shows_the_forbidden_page() -> None:
    api = FakeApi()
    api.answers[("outreach", "GET", f"/v1/youths/{YOUTH}/case")] = Refused(403, "requires role")
    page = client(api, user("school-reporter")).get(f"/ungdomar/{YOUTH}/kontakter")
    assert page.status_code == 403
    assert "Du har inte behörighet" in page.text
    assert client(api).get("/ungdomar/inte-ett-id").status_code == 404


def test_the_youths_pages_are_headed_with_the_name_read_for_casework() -> None:
    api = FakeApi()
    page = client(api).get(f"/ungdomar/{YOUTH}")
    assert page.status_code == 200
    assert "Alva Olsson, 17 år" in page.text
    [read] = [body for service, _, path, _, body in api.calls if path == "/v1/identities/batch"]
    assert read == {"youth_ids": [str(YOUTH)], "purpose": "casework"}


def test_who_recorded_an_occupation_and_a_feed_are_said_in_words() -> None:
    from services.web.commands.contacts import occupation_shown
    from services.web.domain.youth import who

    assert who("feed:population") == "folkbokföringen"
    assert who("user:anna") == "anna"
    assert who("system:identify-feeds") == "systemet"
    raw = {"occupation_id": "o1", "category": "work", "tense": "current",
           "from_date": "2026-03-01", "to_date": None, "confirmed_on": "2026-03-02"}  # fmt: skip
    assert occupation_shown(raw, {"work": "Arbete"}, "user:anna").actor == "anna"


def test_the_occupation_table_names_who_recorded_each() -> None:
    api = FakeApi()
    occupation = {"occupation_id": "o1", "category": "work", "tense": "current",
                  "from_date": "2026-03-01", "to_date": None, "confirmed_on": "2026-03-02"}  # fmt: skip
    entry = {"event_id": "e1", "event_type": "OccupationRecorded", "actor": "user:bertil",
             "values": occupation, "corrects": None, "correction": None, "corrected": None,
             "withdrawn": None}  # fmt: skip
    api.answers[("outreach", "GET", f"/v1/youths/{YOUTH}/case")] = {
        **CASE,
        "occupations": [occupation],
        "entries": [entry],
    }
    page = client(api).get(f"/ungdomar/{YOUTH}/kontakter")
    assert page.status_code == 200
    assert "bertil" in page.text
