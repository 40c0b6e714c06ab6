"""The web application's individual plan and measures (insatser) over the real services: a
caseworker signs in (development sign-in), writes a plan and sees its revision, takes a measure
from offer through decline and re-offer to start and end through the pages, and prints the plan.
A refused step is said in Swedish next to its field, with what was typed kept."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from kaa.deployment import Deployment
from tests.conftest import RunningInfra
from tests.e2e.web_support import Browser, signed_in, web_with_one_youth

YOUTH_NUMBER = "200801011230"  # 18 on the deployment's day (2026-03-02), not enrolled: in scope
MEASURE = re.compile(r'action="/ungdomar/[0-9a-f-]{36}/insatser/([0-9a-f-]{36})"')


class PlanBrowser(Browser):
    """A signed-in user on the youth's measures page."""

    def measures(self) -> str:
        return self.get(f"/ungdomar/{self.youth}/insatser")

    def step(self, measure: str, data: dict[str, str], status: int = 303) -> str:
        response = self.post(f"/ungdomar/{self.youth}/insatser/{measure}", data, status)
        return html.unescape(response.text)


def sign_in(base_url: str, role: str, youth: str) -> PlanBrowser:
    return PlanBrowser(signed_in(base_url, role), youth)


@pytest.fixture(scope="module")
def web(infra: RunningInfra) -> Iterator[tuple[Deployment, str, str]]:
    with web_with_one_youth(infra, YOUTH_NUMBER) as site:
        yield site


@pytest.fixture
def caseworker(web: tuple[Deployment, str, str]) -> Iterator[PlanBrowser]:
    _, url, youth = web
    browser = sign_in(url, "caseworker", youth)
    yield browser
    browser.client.close()


PLAN = {
    "valid_from": "2026-02-27",
    "goal": "Börja på komvux hösten 2026",
    "goals": "komvux\nkörkort",
    "needs": "studievägledning",
    "insats-0-description": "Träffa SYV",
    "insats-0-responsible": "municipality",
    "insats-0-start_date": "2026-03-02",
    "insats-1-description": "",  # a blank row is not sent
    "insats-1-responsible": "municipality",
    "insats-2-description": "Söka komvux",
    "insats-2-responsible": "youth",
    "insats-3-description": "Inskrivning",
    "insats-3-responsible": "other_actor",
    "insats-3-other_actor": "Arbetsförmedlingen",
    "follow_up_on": "2026-03-01",
    "evaluation_on": "2026-06-01",
}


def test_a_plan_written_in_the_editor_shows_its_seven_items_revision_and_print_view(
    caseworker: PlanBrowser,
) -> None:
    youth = caseworker.youth
    assert "Ungdomen har ingen individuell plan än" in caseworker.get(f"/ungdomar/{youth}/plan")
    # A refusal: an effort ending before it starts, said next to its field; the text kept.
    wrong = {**PLAN, "insats-2-start_date": "2026-03-02", "insats-2-end_date": "2026-03-01"}
    refused = caseworker.post(f"/ungdomar/{youth}/plan", wrong, status=422).text
    refused = html.unescape(refused)
    assert 'id="insats-2-end_date-fel"' in refused
    assert "Insats 3: slutdatum får inte vara före startdatumet" in refused
    assert "govuk-error-summary" in refused
    assert 'value="2026-03-01"' in refused
    assert "Börja på komvux hösten 2026" in refused
    assert "Ungdomen har ingen individuell plan än" in refused

    saved = caseworker.post(f"/ungdomar/{youth}/plan", PLAN)
    assert saved.headers["location"] == f"/ungdomar/{youth}/plan?sparad=1"
    page = caseworker.get(saved.headers["location"])
    assert "En ny version av planen är sparad" in page
    for said in ("1. Planering och målet med insatserna", "Börja på komvux hösten 2026",
                 "körkort", "2. Insatser som ungdomen ansvarar för", "Söka komvux",
                 "3. Insatser som kommunen ansvarar för", "Träffa SYV",
                 "4. Insatser som en annan aktör ansvarar för", "Inskrivning (Arbetsförmedlingen)",
                 "5. När insatserna börjar och slutar", "2 mars 2026",
                 "6. Skäl till att en insats avslutades", "7. Uppföljning och utvärdering",
                 "1 juni 2026", "Version 1, gäller från 27 februari 2026"):  # fmt: skip
        assert said in page, said
    revisions = page.split('id="versioner"')[1].split("</table>")[0]
    assert "anna" in revisions
    assert "27 februari 2026" in revisions

    # A second revision with a word about health: saved, and the warning said in Swedish.
    sensitive = {**PLAN, "valid_from": "2026-03-02", "follow_up_on": "2026-03-02",
                 "goal": "Komvux trots sin diagnos"}  # fmt: skip
    warned = html.unescape(caseworker.post(f"/ungdomar/{youth}/plan", sensitive, 200).text)
    assert "Målet med insatserna kan innehålla känsliga personuppgifter (hälsa)" in warned
    assert "Version 2, gäller från 2 mars 2026" in warned

    printed = caseworker.get(f"/ungdomar/{youth}/plan/utskrift")
    assert "<nav" not in printed
    assert "Logga ut" not in printed
    assert "<form" not in printed
    assert "Komvux trots sin diagnos" in printed
    assert "Inskrivning (Arbetsförmedlingen)" in printed
    assert 'href="/static/kaa.css"' in printed


def buttons(page: str, measure: str) -> set[str]:
    """The step buttons the measure's form has."""
    start = page.index(f'id="m-{measure}"')
    form = page[start:].split("</section>")[0]
    return set(re.findall(r'name="steg" value="([a-z-]+)"', form))


def test_a_measure_is_taken_through_its_lifecycle_with_only_the_allowed_buttons(
    caseworker: PlanBrowser,
) -> None:
    youth = caseworker.youth
    page = caseworker.measures()
    assert "Ungdomen har inte erbjudits någon insats än" in page
    assert "Praktik" in page
    caseworker.post(f"/ungdomar/{youth}/insatser/erbjud",
                    {"measure_type": "internship", "offered_on": "2026-02-27"})  # fmt: skip
    page = caseworker.measures()
    [measure] = MEASURE.findall(page)
    assert "Erbjuden" in page
    assert buttons(page, measure) == {"tacka-ja", "tacka-nej"}

    # Declined on a day before the offer: refused next to the date, the date kept.
    refused = caseworker.step(measure, {"steg": "tacka-nej", "on": "2026-02-26"}, 422)
    assert f'id="m-{measure}-on-fel"' in refused
    assert "Datum för steget får inte vara före datumet insatsen erbjöds" in refused
    assert f'id="m-{measure}-on" name="on" type="text" value="2026-02-26"' in refused

    caseworker.step(measure, {"steg": "tacka-nej", "on": "2026-02-28"})
    page = caseworker.measures()
    assert "Avböjd" in page
    assert buttons(page, measure) == {"erbjud-igen"}
    # A step the lifecycle does not allow (a page left open): refused in Swedish, a 409.
    stale = caseworker.step(measure, {"steg": "starta", "on": "2026-03-01"}, 409)
    assert "Steget går inte att ta i insatsens nuvarande läge" in stale

    caseworker.step(measure, {"steg": "erbjud-igen", "on": "2026-03-01",
                              "measure_type": "internship"})  # fmt: skip
    assert buttons(caseworker.measures(), measure) == {"tacka-ja", "tacka-nej"}
    caseworker.step(measure, {"steg": "tacka-ja", "on": "2026-03-01"})
    assert buttons(caseworker.measures(), measure) == {"starta"}
    caseworker.step(measure, {"steg": "starta", "on": "2026-03-02"})
    page = caseworker.measures()
    assert "Pågår" in page
    assert buttons(page, measure) == {"avsluta"}
    assert f'id="m-{measure}-end_reason"' in page
    assert "Genomförd enligt plan" in page

    # An end without its reason: said next to the reason's field.
    missing = caseworker.step(measure, {"steg": "avsluta", "on": "2026-03-02"}, 422)
    assert f'id="m-{measure}-end_reason-fel"' in missing
    caseworker.step(measure, {"steg": "avsluta", "on": "2026-03-02", "end_reason": "completed",
                              "occupation_after": "studies_komvux"})  # fmt: skip
    page = caseworker.measures()
    assert "Avslutad" in page
    assert buttons(page, measure) == set()
    assert "Genomförd enligt plan" in page
    assert "Studier inom komvux" in page

    caseworker.post(f"/ungdomar/{youth}/insatser/invandning", {"on": "2026-03-02"})
    assert "Invändning 2 mars 2026, registrerad av anna" in caseworker.measures()


def test_the_plan_and_measures_pages_are_refused_as_the_services_refuse_them(
    web: tuple[Deployment, str, str], caseworker: PlanBrowser
) -> None:
    _, url, youth = web
    reporter = sign_in(url, "school-reporter", youth)
    try:
        for path in ("plan", "plan/utskrift", "insatser"):
            assert reporter.client.get(f"/ungdomar/{youth}/{path}").status_code == 403
    finally:
        reporter.client.close()
    # A form without its token is refused, and nothing is recorded.
    without = caseworker.client.post(f"/ungdomar/{youth}/insatser/invandning",
                                     data={"on": "2026-03-01"})  # fmt: skip
    assert without.status_code == 403
    assert "1 mars 2026, registrerad" not in caseworker.measures()
    unknown = caseworker.client.get("/ungdomar/00000000-0000-0000-0000-000000000000/plan")
    assert unknown.status_code == 404
