"""Min dag in Chromium: when the list refreshes by itself, a polite status says in Swedish what
changed, and the focus stays where the user left it; axe-core still finds nothing."""

from __future__ import annotations

from datetime import date

from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible
from tests.e2e.test_identify import number, population

SEVENTEEN = date(2008, 10, 2)
STATUS = "return document.getElementById('min-dag-status').textContent"
REFRESH = "htmx.trigger(document.getElementById('min-dag-lista'), 'sse:worklists')"


def test_a_live_update_is_said_politely_without_moving_the_focus(
    browser: Browser, site: Site
) -> None:
    browser.sign_in("status.stina")
    browser.open("/min-dag?lista=first_contact&vems=all")
    driver = browser.driver
    status = driver.find_element("id", "min-dag-status")
    assert (status.get_attribute("role"), status.get_attribute("aria-live")) == ("status", "polite")
    assert driver.execute_script(STATUS) == ""
    driver.execute_script("document.getElementById('lista-recontact').focus()")
    site.publish(population(number(SEVENTEEN), SEVENTEEN))  # a new youth in scope
    # The page's live event, as the SSE extension fires it (the stream itself: test_live_min_dag).
    driver.execute_script(REFRESH)
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script(STATUS) == "Listan uppdaterades: 1 ny ungdom.",
        "the status never said what the live update changed",
    )
    assert driver.execute_script("return document.activeElement.id") == "lista-recontact"
    # Nothing changed since: nothing new is said, and what was said stays.
    driver.execute_script(REFRESH)
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script("return document.querySelector('.htmx-request') === null")
    )
    assert driver.execute_script(STATUS) == "Listan uppdaterades: 1 ny ungdom."
    assert_accessible(driver, "Min dag after a live update said")


def test_the_unassigned_cases_are_a_choice_of_their_own(browser: Browser, site: Site) -> None:
    browser.sign_in("status.stina")
    browser.open("/min-dag?lista=first_contact&vems=unassigned")
    chosen = browser.driver.find_element("id", "vems-unassigned")
    assert (chosen.text, chosen.get_attribute("aria-current")) == ("Ej tilldelade", "page")
    assert not browser.driver.find_elements("id", "vems-team")  # no team in this user's token
    assert "ärenden som ingen har tagit" in browser.driver.find_element("tag name", "main").text
    assert_accessible(browser.driver, "Min dag, the unassigned cases")
