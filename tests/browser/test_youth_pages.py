"""The youth's overview, contact work and Hitta en ungdom in Chromium: axe-core finds no WCAG 2.1
AA violation on any of them, with the identity opened or a refusal shown; a refused attempt puts
the focus on the error summary and keeps what was typed."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import IN_SCOPE
from tests.browser.helpers import Browser, assert_accessible, submit, typed


def test_the_youths_overview_and_contact_pages_are_accessible(
    caseworker: Browser, youth: str
) -> None:
    caseworker.open(f"/ungdomar/{youth}")
    assert_accessible(caseworker.driver, "the youth's overview")
    caseworker.driver.find_element(By.ID, "identitet-purpose").send_keys(Keys.SPACE)
    submit(caseworker, "Visa identitet")
    assert "Test Testsson" in caseworker.driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(caseworker.driver, "the overview with the identity opened")

    caseworker.open(f"/ungdomar/{youth}/kontakter")
    assert_accessible(caseworker.driver, "the contact log, empty")
    Select(caseworker.driver.find_element(By.ID, "forsok-channel")).select_by_value("phone")
    Select(caseworker.driver.find_element(By.ID, "forsok-outcome")).select_by_value("reached")
    typed(caseworker, "forsok-attempted_at", "2026-03-09 10:00")  # in the future: refused
    submit(caseworker, "Registrera kontaktförsöket")
    summary = caseworker.driver.find_element(By.CSS_SELECTOR, "[data-kaa-error-summary]")
    assert "Tidpunkt får inte ligga i framtiden" in summary.text
    assert caseworker.driver.switch_to.active_element == summary
    field = caseworker.driver.find_element(By.ID, "forsok-attempted_at")
    assert field.get_attribute("value") == "2026-03-09 10:00"
    assert_accessible(caseworker.driver, "the contact attempt form with a refusal")

    typed(caseworker, "forsok-attempted_at", "2026-03-02 09:15")
    submit(caseworker, "Registrera kontaktförsöket")
    caseworker.wait_for_path(f"/ungdomar/{youth}/kontakter?sparat=forsok")
    assert "2 mars 2026 kl. 09:15" in caseworker.driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(caseworker.driver, "the contact log with an attempt")


def test_finding_a_youth_and_its_refusal_are_accessible(caseworker: Browser, youth: str) -> None:
    caseworker.open("/sok")
    assert_accessible(caseworker.driver, "Hitta en ungdom")
    typed(caseworker, "sok-personnummer", "200801011231")
    submit(caseworker, "Sök")
    assert "kontrollsiffran är fel" in caseworker.driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(caseworker.driver, "Hitta en ungdom with a refusal")
    typed(caseworker, "sok-personnummer", IN_SCOPE)
    submit(caseworker, "Sök")
    caseworker.wait_for_path(f"/ungdomar/{youth}")
    assert IN_SCOPE not in caseworker.driver.current_url
