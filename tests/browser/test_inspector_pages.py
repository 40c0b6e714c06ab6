"""The inspector's walk in Chromium over the real services, Kafka and PostgreSQL (issue 19's proof):
a youth's occupation is recorded, then corrected after a known instant, through outreach's API;
an inspector opens the register as of that instant and sees the old value beside today's (the
difference said in words), follows the youth to its timeline as of the instant (the rule version,
the facts, who recorded the occupation), prints it, and finds their own reads in the access log.
The keyboard alone does it, with every focus visible; axe-core finds no WCAG 2.1 AA violation on
any page; a caseworker gets the forbidden page.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.web.domain.menu import start_page
from services.web.domain.swedish import ROLES
from tests.browser.conftest import IN_SCOPE, Site
from tests.browser.helpers import Browser, assert_accessible, visibly_focused

INSPECTOR = "greta.granskare"
OCCUPATION = {"category": "work", "tense": "current", "from_date": "2026-01-20",
              "confirmed_on": "2026-02-19"}  # fmt: skip
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    found: dict[str, Any] = response.json()
    return found


@pytest.fixture(scope="module")
def corrected(site: Site, youth: str) -> datetime:
    """The youth's occupation recorded as work, then — after the instant returned, whole seconds
    between the two — corrected to studies at komvux (outreach's API, as a caseworker)."""
    deployment = site.deployment
    with deployment.client("outreach", "0180", "caseworker") as outreach:
        ok(outreach.post(f"/v1/youths/{youth}/occupations", json=OCCUPATION))
        asyncio.run(deployment.drained())
        case = ok(outreach.get(f"/v1/youths/{youth}/case"), 200)
        [event] = [
            e["event_id"] for e in case["entries"] if e["event_type"] == "OccupationRecorded"
        ]
        time.sleep(1.1)
        between = datetime.now(UTC).replace(microsecond=0)
        time.sleep(1.1)
        values = {**OCCUPATION, "category": "studies_komvux"}
        body = {"corrects": event, "reason": "wrong_value", "values": values}
        ok(outreach.post(f"/v1/youths/{youth}/corrections", json=body))
        asyncio.run(deployment.drained())
    return between


def sign_in(browser: Browser, subject: str, role: str) -> None:
    """`Browser.sign_in`, the role's name typed in lower case: this Chromium's type-ahead in a
    list ignores a capital typed by WebDriver (the helper's capital works only for the first
    option, Handläggare, chosen already)."""
    browser.open("/logga-in")
    roles = browser.driver.find_element(By.ID, "role")
    roles.send_keys(ROLES[role].lower())
    assert Select(roles).first_selected_option.get_attribute("value") == role
    browser.driver.find_element(By.ID, "subject").send_keys(subject, Keys.ENTER)
    browser.wait_for_path(start_page([role]))


def main(browser: Browser) -> str:
    text: str = browser.driver.find_element(By.TAG_NAME, "main").text
    return text


def typed_by_keys(browser: Browser, label: str, text: str) -> list[dict[str, str] | None]:
    """Tab to the field whose label is `label` (its id given) and type; the foci passed."""
    passed = []
    for _ in range(40):
        browser.keys(Keys.TAB)
        passed.append(browser.focus_style())
        if browser.focused().get_attribute("id") == label:
            browser.keys(text)
            return passed
    raise AssertionError(f"{label} never took the focus")


def test_an_inspector_sees_the_register_before_a_correction_and_the_youths_timeline(
    browser: Browser, youth: str, corrected: datetime
) -> None:
    sign_in(browser, INSPECTOR, "inspector")
    assert browser.path == "/granskning"
    assert_accessible(browser.driver, "Registret vid en tidpunkt, empty")
    instant = corrected.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M:%S")
    foci = typed_by_keys(browser, "granskning-vid", instant)
    browser.keys(Keys.ENTER)
    browser.wait_for_path("/granskning?vid=")
    text = main(browser)
    row = browser.driver.find_element(By.ID, f"rad-{youth}")
    occupation = row.find_element(By.CSS_SELECTOR, "[data-kaa-occupation]").text
    assert occupation == "Arbete", row.text  # the value before the correction
    difference = row.find_element(By.CSS_SELECTOR, "[data-kaa-difference]").text
    assert "Ändrad" in difference
    assert "Sysselsättning: Arbete → Studier inom komvux" in difference
    assert "Skillnader: 0 kom in, 0 lämnade, 1 ändrades." in text
    assert_accessible(browser.driver, "Registret vid en tidpunkt, beside now")
    browser.screenshot("granskning-register", readme=True)

    foci += browser.tab_to(youth[:8])
    browser.keys(Keys.ENTER)
    browser.wait_for_path(f"/granskning/ungdomar/{youth}?vid=")
    text = main(browser)
    assert "Reglerna från" in browser.driver.find_element(By.CSS_SELECTOR, "[data-kaa-rule]").text
    assert "Folkbokförd i kommunen" in text
    occupations = browser.driver.find_element(
        By.XPATH, "//table[@aria-labelledby='sysselsattning']"
    )
    assert "Arbete" in occupations.text
    assert "Studier inom komvux" not in occupations.text  # recorded only after the instant
    assert "Inga rättelser eller återkallelser vid tidpunkten." in text
    assert_accessible(browser.driver, "the youth's timeline as of the instant")
    browser.screenshot("granskning-tidslinje", readme=True)
    printed = browser.driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
    assert len(printed["data"]) > 1000  # printable (the print stylesheet leaves the menu out)
    assert all(visibly_focused(style) for style in foci if style is not None), foci


def test_the_inspectors_reads_are_in_the_access_log(
    browser: Browser, youth: str, corrected: datetime
) -> None:
    sign_in(browser, INSPECTOR, "inspector")
    browser.open(f"/granskning/ungdomar/{youth}?vid=" +
                 corrected.astimezone(STOCKHOLM).strftime("%Y-%m-%d+%H:%M:%S"))  # fmt: skip
    browser.open("/granskning/atkomstlogg")
    before = browser.requested_urls()  # from here on: the search
    foci = typed_by_keys(browser, "atkomst-anvandare", INSPECTOR)
    browser.keys(Keys.ENTER)
    WebDriverWait(browser.driver, 30).until(
        lambda d: d.find_elements(By.ID, "traffar")
    )  # the search is posted: the address stays /granskning/atkomstlogg
    assert browser.path == "/granskning/atkomstlogg"
    text = main(browser)
    assert "Granskning (registret vid en tidpunkt)" in text
    assert "Ungdomens tidslinje vid" in text
    readers = browser.driver.find_elements(By.CSS_SELECTOR, "[data-kaa-reader]")
    assert readers
    assert {r.text for r in readers} == {INSPECTOR}
    assert_accessible(browser.driver, "Åtkomstloggen, searched by user")
    browser.screenshot("granskning-atkomstlogg", readme=True)
    assert all(visibly_focused(style) for style in foci if style is not None), foci
    searched = browser.requested_urls()
    assert searched
    for url in before + searched:
        assert IN_SCOPE not in url
    for url in searched:
        assert INSPECTOR not in url  # a user name is a person's name: never in an address


def test_a_caseworker_gets_the_forbidden_page(browser: Browser) -> None:
    sign_in(browser, "anna.andersson", "caseworker")
    for path in ("/granskning", "/granskning/atkomstlogg"):
        browser.open(path)
        assert browser.heading() == "Du har inte behörighet"
        assert_accessible(browser.driver, f"{path} for a caseworker")
