"""The coordinator's team overview and rules in Chromium, over the real services, Kafka and
PostgreSQL (issue 19): a coordinator assigns five youths at once with the keyboard alone and sees
the caseload change; changes a rule and sees it in the history; adds an own measure to the
catalogue. axe-core finds no WCAG 2.1 AA violation on any page of it (a refusal included); no
personal data reaches a URL; a caseworker gets the forbidden page."""

from __future__ import annotations

import random
from datetime import date
from urllib.parse import unquote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from shared.personnummer import generate
from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible, submit, typed, visibly_focused
from tests.browser.test_caseworker_pages import Youth

RNG = random.Random(1919)
YOUTHS = [
    Youth(generate(date(2008, 3, 11), RNG), "Alma", "Berg"),
    Youth(generate(date(2008, 4, 2), RNG), "Noah", "Dahl"),
    Youth(generate(date(2007, 11, 20), RNG), "Ines", "Ekström"),
    Youth(generate(date(2008, 7, 7), RNG), "Liam", "Falk"),
    Youth(generate(date(2009, 1, 30), RNG), "Maja", "Grön"),
    Youth(generate(date(2007, 8, 16), RNG), "Otto", "Holm"),
]
COORDINATOR = "sara.samordnare"


@pytest.fixture(scope="module")
def youths(site: Site) -> list[Youth]:
    site.publish(*(youth.line() for youth in YOUTHS))
    return YOUTHS


def main_text(browser: Browser) -> str:
    text: str = browser.driver.find_element(By.TAG_NAME, "main").text
    return text


def caseload_row(browser: Browser, holder: str) -> list[str]:
    """The caseload table's row of `holder`: its name and figures."""
    for row in browser.driver.find_elements(By.CSS_SELECTOR, "#arendebelastning tbody tr"):
        cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")]
        if cells and cells[0] == holder:
            return cells
    return []


def no_personal_data_requested(browser: Browser) -> None:
    urls = [unquote(url).lower() for url in browser.requested_urls()]
    for youth in YOUTHS:
        for trace in youth.traces():
            assert not [u for u in urls if trace.lower() in u], f"{trace} in a URL"
    assert not [u for u in urls if COORDINATOR in u or "norr" in u]


def tick_with_keyboard(browser: Browser, count: int) -> list[dict[str, str] | None]:
    """Tab through the list, ticking the first `count` youths with Space; then on to the form's
    'Tilldela till', a team chosen by typing, its code typed. The focus styles seen."""
    seen: list[dict[str, str] | None] = []
    ticked = 0
    for _ in range(120):
        browser.keys(Keys.TAB)
        seen.append(browser.focus_style())
        focused = browser.focused()
        if (focused.get_attribute("id") or "").startswith("valj-") and ticked < count:
            browser.keys(Keys.SPACE)
            ticked += 1
        if focused.get_attribute("id") == "tilldela-assignee_kind":
            break
    assert ticked == count
    browser.keys("Ett team")  # a list chosen by typing its option's first letters
    browser.keys(Keys.TAB)
    seen.append(browser.focus_style())
    assert browser.focused().get_attribute("id") == "tilldela-assignee"
    return seen


def test_a_coordinator_assigns_five_youths_at_once_with_the_keyboard(
    browser: Browser, youths: list[Youth]
) -> None:
    browser.sign_in(COORDINATOR, "coordinator")
    browser.open("/samordning")
    assert browser.heading() == "Samordning"
    text = main_text(browser)
    assert "Ej tilldelade ungdomar (6)" in text
    for youth in youths:
        assert youth.name in text  # as Min dag shows them
    assert caseload_row(browser, "Ej tilldelade")[1] == "6"
    assert_accessible(browser.driver, "/samordning")

    submit(browser, "Tilldela")  # nothing ticked, no assignee: refused beside the fields
    assert "Välj minst en ungdom att tilldela." in main_text(browser)
    assert_accessible(browser.driver, "/samordning/tilldela (refused)")

    browser.open("/samordning")
    browser.network()
    seen = tick_with_keyboard(browser, 5)
    assert (
        Select(
            browser.driver.find_element(By.ID, "tilldela-assignee_kind")
        ).first_selected_option.get_attribute("value")
        == "team"
    )
    browser.keys("norr", Keys.ENTER)
    browser.wait_for_path("/samordning?")
    assert all(visibly_focused(style) for style in seen if style is not None)

    assert "5 ungdomar har tilldelats Team norr." in main_text(browser)
    assert caseload_row(browser, "Team norr")[:2] == ["Team norr", "5"]
    assert caseload_row(browser, "Ej tilldelade")[1] == "1"
    assert "Ej tilldelade ungdomar (1)" in main_text(browser)
    assert_accessible(browser.driver, "/samordning after assigning")
    browser.screenshot("samordning-oversikt", readme=True)
    no_personal_data_requested(browser)

    browser.driver.find_element(By.LINK_TEXT, "Team norr").click()
    assert "Ärenden hos Team norr (5)" in main_text(browser)
    assert_accessible(browser.driver, "/samordning?visa=ansvarig")


def test_a_coordinator_changes_a_rule_and_adds_an_own_measure(
    browser: Browser, youths: list[Youth]
) -> None:
    browser.sign_in(COORDINATOR, "coordinator")
    browser.open("/samordning/regler")
    assert browser.heading() == "Regler och insatser"
    assert "Reglerna har inte ändrats" in main_text(browser)
    assert_accessible(browser.driver, "/samordning/regler")

    typed(browser, "regler-first_contact_working_days", "500")
    submit(browser, "Spara reglerna")
    assert "Gräns för första kontaktförsök måste vara mellan" in main_text(browser)
    assert_accessible(browser.driver, "/samordning/regler (refused)")

    typed(browser, "regler-first_contact_working_days", "7")
    submit(browser, "Spara reglerna")
    assert "Reglerna är sparade." in main_text(browser)
    history = browser.driver.find_element(By.ID, "regler-historik").text
    assert "Gräns för första kontaktförsök: 10 arbetsdagar → 7 arbetsdagar" in history
    assert COORDINATOR in history

    typed(browser, "insats-code", "sommarpraktik")
    typed(browser, "insats-name", "Sommarpraktik i kommunen")
    typed(browser, "insats-provider", "Arbetsmarknadsenheten")
    submit(browser, "Spara insatsen")
    assert "Insatsen är sparad i katalogen." in main_text(browser)
    catalogue = browser.driver.find_element(By.CSS_SELECTOR, "#katalog ~ table").text
    assert "Sommarpraktik i kommunen (kod sommarpraktik)" in catalogue
    assert "Kommunens egen" in catalogue
    changes = browser.driver.find_element(By.ID, "katalog-historik").text
    assert "Lades till: Sommarpraktik i kommunen (kod sommarpraktik)" in changes
    assert_accessible(browser.driver, "/samordning/regler after saving")
    browser.screenshot("samordning-regler", readme=True)

    browser.open("/samordning")  # the overview reckons with the new limit
    assert "inom 7 arbetsdagar" in main_text(browser)


def test_a_caseworker_gets_the_forbidden_page(browser: Browser) -> None:
    browser.sign_in("anna.andersson", "caseworker")
    for path in ("/samordning", "/samordning/regler"):
        browser.open(path)
        assert "Du har inte behörighet" in main_text(browser)
        assert_accessible(browser.driver, f"{path} as a caseworker")
