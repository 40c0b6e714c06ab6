"""The inspector's pages over a fake register: the register as of an instant beside now with its
differences in words, paged; a youth's timeline as of an instant in plain Swedish; the access log
searched by youth, user and period; refusals next to their fields; other roles forbidden."""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from services.web.adapters.services_api import Refused
from services.web.domain.inspection import PAGE_SIZE
from tests.unit.web import inspection_support as support
from tests.unit.web.inspection_support import GONE, NEW, STAYED, FakeRegister, client, row, user


def test_the_register_as_of_an_instant_is_shown_beside_now_with_what_differs() -> None:
    api = FakeRegister()
    page = client(api).get("/granskning", params={"vid": "2026-03-01 14:30"})
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    first, second = (params["as_of"] for _, _, params in api.calls)
    assert first == "2026-03-01T14:30:00+01:00"  # Stockholm's time, sent with its offset
    assert datetime.fromisoformat(second) > datetime.fromisoformat(first)  # now
    text = page.text
    assert "Skillnader: 1 kom in, 1 lämnade, 1 ändrades." in text
    assert "Sysselsättning: Arbete → Studier inom komvux" in text  # the old value, then the new
    assert "Status: I aktivitetsansvaret → Utanför aktivitetsansvaret" in text
    assert "Ny i registret: i aktivitetsansvaret" in text
    assert f'href="/granskning/ungdomar/{STAYED}?vid=2026-03-01+14%3A30"' in text
    assert "i åtkomstloggen, under ditt användarnamn med syftet granskning" in text
    assert "Kom in" in text
    assert "Lämnade" in text
    assert "Ändrad" in text


def test_only_the_differences_are_listed_on_request() -> None:
    page = client(FakeRegister()).get(
        "/granskning", params={"vid": "2026-03-01 14:30", "visa": "skillnader"}
    )
    assert page.status_code == 200
    for youth in (STAYED, NEW, GONE):
        assert f"rad-{youth}" in page.text


def test_a_second_instant_is_compared_instead_of_now() -> None:
    api = FakeRegister()
    page = client(api).get(
        "/granskning", params={"vid": "2026-03-01 14:30", "jamfor": "2026-06-30 23:59:59"}
    )
    assert page.status_code == 200
    assert [p["as_of"] for _, _, p in api.calls] == [
        "2026-03-01T14:30:00+01:00", "2026-06-30T23:59:59+02:00"
    ]  # fmt: skip
    assert "30 juni 2026 kl. 23:59:59" in page.text


def test_a_large_register_is_paged(monkeypatch: pytest.MonkeyPatch) -> None:
    many = [row(uuid.uuid4()) for _ in range(PAGE_SIZE * 2 + 5)]
    monkeypatch.setitem(support.THEN, "youths", many)
    monkeypatch.setitem(support.NOW, "youths", many)
    page = client(FakeRegister()).get("/granskning", params={"vid": "2026-03-01 14:30", "sida": 3})
    assert page.status_code == 200
    assert page.text.count('id="rad-') == 5
    assert f"Visar {PAGE_SIZE * 2 + 1}–{PAGE_SIZE * 2 + 5} av {PAGE_SIZE * 2 + 5}." in page.text
    assert 'aria-label="Sida 3" aria-current="page"' in page.text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1 mars", "Tidpunkt ska skrivas som år-månad-dag och klockslag"),
        ("2099-01-01 10:00", "Tidpunkt får inte ligga i framtiden."),
        ("2026-02-30 10:00", "Tidpunkt ska skrivas som år-månad-dag och klockslag"),
    ],
)
def test_an_instant_that_is_none_is_refused_next_to_its_field(typed: str, message: str) -> None:
    api = FakeRegister()
    page = client(api).get("/granskning", params={"vid": typed})
    assert page.status_code == 422
    assert message in page.text
    assert 'href="#granskning-vid"' in page.text  # the summary links to the field
    assert 'aria-describedby="granskning-vid-tips granskning-vid-fel"' in page.text
    assert api.calls == []


def test_the_youths_timeline_is_in_plain_swedish_with_who_recorded_each_thing() -> None:
    api = FakeRegister()
    page = client(api).get(f"/granskning/ungdomar/{STAYED}", params={"vid": "2026-03-01 14:30"})
    assert page.status_code == 200, page.text
    assert api.calls == [("register", f"/v1/audit/youths/{STAYED}",
                          {"as_of": "2026-03-01T14:30:00+01:00"})]  # fmt: skip
    text = page.text
    assert "Reglerna från 1 juli 2018 (kaa-2018-07-01)" in text
    assert "Folkbokförd i kommunen" in text
    assert "ingen gymnasieutbildning" in text
    assert "folkbokföringen, 16 januari 2026 kl. 09:00" in text  # who recorded it, and when
    assert "Kontaktförsök" in text
    assert "Inte nådd" in text
    assert "Information given" in text
    assert "Arbete" in text
    assert "Nuvarande" in text
    assert "Praktik" in text
    assert "Praktik på biblioteket" in text
    assert "accepterad 21 februari" in text
    assert "Komvux" in text
    assert "Återkallelse" in text
    assert "Har inte ägt rum: Fel ungdom" in text
    assert 'class="kaa-print"' in text  # printable: the menu and the form are left out


def test_a_youth_not_in_the_register_then_is_said_so() -> None:
    api = FakeRegister()
    api.youth = Refused(404, "youth_id: no such youth in your municipality then")
    page = client(api).get(f"/granskning/ungdomar/{NEW}", params={"vid": "2026-03-01 14:30"})
    assert page.status_code == 404
    assert "Ungdomen fanns inte i kommunens register vid tidpunkten." in page.text


def test_the_access_log_is_searched_by_youth_user_and_period_and_paged() -> None:
    api = FakeRegister()
    api.access = {"total": 120, "items": [{
        "position": 9, "at": "2026-03-01T13:31:00+00:00", "actor": "user:granskare",
        "youth_id": str(STAYED), "purpose": "audit-replay",
        "what": "whole register as of 2026-03-01 13:30:00+00:00", "service": "register",
    }]}  # fmt: skip
    page = client(api).post("/granskning/atkomstlogg", data={
        "csrf": "csrf", "ungdom": str(STAYED), "anvandare": "anna.andersson",
        "fran": "2026-03-01", "till": "2026-03-01", "sida": "2",
    })  # fmt: skip
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    [(_, _, params)] = api.calls
    assert params == {"youth_id": str(STAYED), "actor": "user:anna.andersson",
                      "since": "2026-03-01T00:00:00+01:00", "until": "2026-03-02T00:00:00+01:00",
                      "limit": PAGE_SIZE, "offset": PAGE_SIZE}  # fmt: skip
    text = page.text
    assert "Granskning (registret vid en tidpunkt)" in text
    assert "Hela registret vid 1 mars 2026 kl. 14:30:00" in text
    assert "granskare" in text
    assert "Läsningar (120)" in text
    assert "Sida 2 av 3" in text
    # The next page is asked for with the same form: the user name is in no link of the page.
    pager = text.split('aria-label="Sidor av åtkomstloggen"')[0].rsplit("<form", 1)[1]
    assert 'method="post"' in pager
    assert '<input type="hidden" name="anvandare" value="anna.andersson">' in pager
    assert '<input type="hidden" name="csrf" value="csrf">' in pager
    assert 'name="sida" value="3"' in text
    assert 'name="sida" value="1"' in text
    links = [piece.split('"')[0] for piece in text.split('href="')[1:]]
    assert links
    assert not any("anna.andersson" in link for link in links)


def test_a_user_name_in_the_address_is_not_searched() -> None:
    api = FakeRegister()
    page = client(api).get("/granskning/atkomstlogg", params={"anvandare": "anna.andersson"})
    assert page.status_code == 400
    assert "ett användarnamn skrivs inte i adressen" in page.text
    assert api.calls == []
    # An old bookmark of the GET form, with the field empty, still searches.
    kept = client(api).get(
        "/granskning/atkomstlogg", params={"anvandare": "", "fran": "2026-03-01"}
    )
    assert kept.status_code == 200
    assert [p.get("actor") for _, _, p in api.calls] == [None]


@pytest.mark.parametrize("page", ["²", "0", "-1", "100001", "x", ""])
def test_a_posted_page_that_cannot_be_is_the_first(page: str) -> None:
    api = FakeRegister()
    answer = client(api).post("/granskning/atkomstlogg",
                              data={"csrf": "csrf", "anvandare": "x", "sida": page})  # fmt: skip
    assert answer.status_code == 200
    [(_, _, params)] = api.calls
    assert params["offset"] == 0


def test_a_posted_search_without_the_session_s_form_token_is_refused() -> None:
    api = FakeRegister()
    page = client(api).post("/granskning/atkomstlogg", data={"csrf": "other", "anvandare": "x"})
    assert page.status_code == 403
    assert api.calls == []


def test_a_search_by_youth_alone_stays_in_the_address_and_is_paged_by_links() -> None:
    api = FakeRegister()
    api.access = {"total": 120, "items": [{
        "position": 9, "at": "2026-03-01T13:31:00+00:00", "actor": "user:granskare",
        "youth_id": str(STAYED), "purpose": "audit-replay", "what": "x", "service": "register",
    }]}  # fmt: skip
    page = client(api).get("/granskning/atkomstlogg", params={"ungdom": str(STAYED), "sida": 2})
    assert page.status_code == 200
    nxt = next(line for line in page.text.splitlines() if 'rel="next"' in line)
    query = parse_qs(urlsplit(nxt.split('href="')[1].split('"')[0].replace("&amp;", "&")).query)
    assert query == {"ungdom": [str(STAYED)], "sida": ["3"]}


def test_a_search_that_is_none_is_refused_before_the_register_is_asked() -> None:
    api = FakeRegister()
    page = client(api).get("/granskning/atkomstlogg",
                           params={"ungdom": "19900101-1234", "fran": "2026-03-05",
                                   "till": "2026-03-01"})  # fmt: skip
    assert page.status_code == 422
    assert "Ungdomens id ska vara ett pseudonymt id" in page.text
    assert "19900101-1234" not in page.text.split("atkomst-ungdom-fel")[1][:300]
    assert "Till och med får inte vara före Från." in page.text
    assert api.calls == []


@pytest.mark.parametrize("role", ["caseworker", "coordinator", "school-reporter", "operator"])
@pytest.mark.parametrize(
    "path",
    ["/granskning?vid=2026-03-01+14:30", f"/granskning/ungdomar/{STAYED}?vid=2026-03-01+14:30",
     "/granskning/atkomstlogg"],
)  # fmt: skip
def test_other_roles_get_the_forbidden_page_before_anything_is_asked(role: str, path: str) -> None:
    api = FakeRegister()
    page = client(api, user(role)).get(path)
    assert page.status_code == 403
    assert "Du har inte behörighet" in page.text
    assert api.calls == []
    for token in ("csrf", "not-the-session-s"):  # the role decides before the form is read
        searched = client(api, user(role)).post("/granskning/atkomstlogg",
                                                data={"csrf": token, "anvandare": "x"})  # fmt: skip
        assert searched.status_code == 403
        assert "Du har inte behörighet" in searched.text
    assert api.calls == []


def test_no_form_of_the_inspector_records_anything() -> None:
    """Besides signing out, the only form that posts is the access log's search (a search)."""
    api = FakeRegister()
    web = client(api)
    for path in ("/granskning?vid=2026-03-01+14:30", f"/granskning/ungdomar/{STAYED}?vid=2026-03-01+14:30",
                 "/granskning/atkomstlogg"):  # fmt: skip
        page = web.get(path).text
        searches = page.count('action="/granskning/atkomstlogg"')
        assert page.count('method="post"') == 1 + searches
        assert 'action="/logga-ut"' in page
        assert searches == (path == "/granskning/atkomstlogg")


def test_an_instant_the_register_refuses_is_said_next_to_the_field() -> None:
    api = FakeRegister()
    api.youth = Refused(422, "as_of: is in the future; the register cannot be replayed beyond now")
    page = client(api).get(f"/granskning/ungdomar/{STAYED}", params={"vid": "2026-03-01 14:30"})
    assert page.status_code == 422
    assert 'href="#tidslinje-vid"' in page.text
    assert "Välj en tidpunkt som har passerat." in page.text


@pytest.mark.parametrize("name", ["anna\x00andersson", "anna\nandersson", "anna\x85andersson"])
def test_a_user_name_with_a_control_character_is_refused_next_to_its_field(name: str) -> None:
    api = FakeRegister()
    page = client(api).post("/granskning/atkomstlogg", data={"csrf": "csrf", "anvandare": name})
    assert page.status_code == 422
    assert "Användarnamnet får inte innehålla styrtecken." in page.text
    assert api.calls == []  # the register (which refuses it too) is not asked
