"""Find a youth by personnummer: posted (never in a URL), checked here with a Swedish message next
to the field that never repeats the number, looked up in the register with the purpose, and the
found youth's page by its pseudonymous id."""

from __future__ import annotations

import uuid

from services.web.adapters.services_api import Refused
from tests.unit.web.youth_support import CSRF, YOUTH, FakeApi, client

LOOKUP = ("register", "POST", "/v1/youths/lookup")


def test_a_personnummer_found_leads_to_the_youths_page_by_its_pseudonymous_id() -> None:
    api = FakeApi()
    api.answers[LOOKUP] = {"youth_id": str(YOUTH)}
    web = client(api)
    assert 'method="post" action="/sok"' in web.get("/sok").text
    answer = web.post("/sok", data={"csrf": CSRF, "personnummer": "20080302-2383",
                                    "purpose": "casework"})  # fmt: skip
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ungdomar/{YOUTH}"
    assert api.posted("/v1/youths/lookup") == [
        {"personnummer": "20080302-2383", "purpose": "casework"}
    ]


def test_an_invalid_personnummer_is_refused_in_swedish_without_asking_the_register() -> None:
    api = FakeApi()
    web = client(api)
    for typed, said in (("200803022384", "kontrollsiffran är fel"),
                        ("0803022383", "med århundradet"), ("200813011234", "födelsedatum finns inte"), ("", "Fyll i personnummer.")):  # fmt: skip
        page = web.post("/sok", data={"csrf": CSRF, "personnummer": typed, "purpose": "casework"})
        assert page.status_code == 422
        assert said in page.text
        assert 'id="sok-personnummer-fel"' in page.text
        assert f'value="{typed}"' in page.text  # kept in the field
        assert page.text.count(typed) == 1 or not typed  # only there, not in the message
    assert api.posted("/v1/youths/lookup") == []


def test_a_person_not_in_the_municipality_is_said_next_to_the_field() -> None:
    api = FakeApi()
    api.answers[LOOKUP] = Refused(404, "personnummer: no such youth in your municipality")
    page = client(api).post("/sok", data={"csrf": CSRF, "personnummer": "200803022383",
                                          "purpose": "identity"})  # fmt: skip
    assert page.status_code == 404
    assert "Ingen ungdom med det personnumret finns i kommunens register." in page.text
    assert page.headers["cache-control"] == "no-store"
    assert str(uuid.UUID(int=0)) not in page.text
