"""The youth's pages in the web application over the real services: a caseworker signs in
(development sign-in), finds the youth by personnummer (posted, looked up by the keyed hash,
access-logged with the purpose), reads why the youth is in scope, opens the identity with a
purpose, records a contact attempt (a wrong and a future time refused in Swedish next to the field
with what was typed kept, then a right one seen in the log) and an occupation. A school's reporter
gets the forbidden page; a malformed youth id is no page."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from kaa.deployment import Deployment
from tests.conftest import RunningInfra
from tests.e2e.web_support import Browser, signed_in, web_with_one_youth

NUMBER = "200801011230"  # 18 on the deployment's day (2026-03-02), not enrolled: in scope


def sign_in(base_url: str, role: str) -> Browser:
    return Browser(signed_in(base_url, role), token_page="/sok")


@pytest.fixture(scope="module")
def web(infra: RunningInfra) -> Iterator[tuple[Deployment, str, str]]:
    with web_with_one_youth(infra, NUMBER) as site:
        yield site


@pytest.fixture
def caseworker(web: tuple[Deployment, str, str]) -> Iterator[Browser]:
    browser = sign_in(web[1], "caseworker")
    yield browser
    browser.client.close()


def test_a_caseworker_finds_the_youth_by_personnummer_and_reads_why_and_who(
    web: tuple[Deployment, str, str], caseworker: Browser
) -> None:
    made, _, youth = web
    wrong = caseworker.post("/sok", {"personnummer": "200801011231", "purpose": "casework"}, 422)
    assert "kontrollsiffran är fel" in html.unescape(wrong.text)
    assert 'id="sok-personnummer-fel"' in wrong.text
    absent = caseworker.post("/sok", {"personnummer": "200802021238", "purpose": "casework"}, 404)
    assert "Ingen ungdom med det personnumret" in html.unescape(absent.text)
    found = caseworker.post("/sok", {"personnummer": "20080101-1230", "purpose": "casework"})
    assert found.headers["location"] == f"/ungdomar/{youth}"
    overview = caseworker.get(f"/ungdomar/{youth}")
    for said in ("Reglerna från 1 juli 2018", "Folkbokförd i kommunen", "18 år", "Okänd"):
        assert said in overview, said
    # The page is headed with the name and age (the register's name read, for casework); the
    # identity itself (personnummer, address, contact details) only on request with a purpose.
    assert "Test Testsson, 18 år" in overview
    assert "Personnummer" not in overview
    opened = caseworker.post(f"/ungdomar/{youth}/identitet", {"purpose": "identity"}, 200)
    assert "Personnummer" in opened.text
    with made.client("register", "0180", "inspector") as register:
        log = register.get("/v1/access-log", params={"youth_id": youth}).json()["items"]
    seen = {(item["purpose"], item["what"]) for item in log}
    assert ("casework", "lookup by personnummer") in seen
    assert any(purpose == "identity" for purpose, _ in seen)


def test_a_contact_attempt_refused_in_swedish_then_recorded_and_seen_in_the_log(
    web: tuple[Deployment, str, str], caseworker: Browser
) -> None:
    youth = web[2]
    path = f"/ungdomar/{youth}/kontakter/forsok"
    attempt = {"channel": "phone", "outcome": "not_reached"}
    for typed, said in (("2026-03-40 10:00", "Tidpunkt måste vara en tidpunkt"),
                        ("2026-03-09 10:00", "Tidpunkt får inte ligga i framtiden")):  # fmt: skip
        refused = caseworker.post(path, {**attempt, "attempted_at": typed}, 422)
        page = html.unescape(refused.text)
        assert said in page
        assert 'id="forsok-attempted_at-fel"' in page
        assert f'value="{typed}"' in page
        assert '<option value="phone" selected>' in page
    done = caseworker.post(path, {**attempt, "attempted_at": "2026-03-02 09:15"})
    assert done.headers["location"] == f"/ungdomar/{youth}/kontakter?sparat=forsok"
    log = caseworker.get(done.headers["location"])
    assert "Kontaktförsöket är registrerat." in log
    for said in ("Kontaktförsök", "Telefon", "Inte nådd", "2 mars 2026 kl. 09:15", "anna"):
        assert said in log, said
    occupation = {"category": "work", "tense": "current", "from_date": "2026-02-01"}
    caseworker.post(f"/ungdomar/{youth}/kontakter/sysselsattning", occupation)
    occupations = caseworker.get(f"/ungdomar/{youth}/kontakter")
    assert "1 februari 2026" in occupations
    assert "Nuvarande" in occupations


def test_a_schools_reporter_gets_the_forbidden_page_and_a_malformed_id_no_page(
    web: tuple[Deployment, str, str],
) -> None:
    _, url, youth = web
    reporter = sign_in(url, "school-reporter")
    try:
        for page in (f"/ungdomar/{youth}", f"/ungdomar/{youth}/kontakter"):
            assert "Du har inte behörighet" in reporter.get(page, 403)
        reporter.post("/sok", {"personnummer": NUMBER, "purpose": "casework"}, 403)
    finally:
        reporter.client.close()
    caseworker = sign_in(url, "caseworker")
    try:
        assert "Sidan finns inte" in caseworker.get("/ungdomar/inte-ett-id", 404)
        assert "Sidan finns inte" in caseworker.get("/ungdomar/inte-ett-id/kontakter", 404)
    finally:
        caseworker.client.close()
