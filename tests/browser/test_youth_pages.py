"""The youth's overview, contact work and Hitta en ungdom in Chromium: axe-core finds no WCAG 2.1
AA violation on any of them, with the identity opened or a refusal shown; a refused attempt puts
the focus on the error summary and keeps what was typed."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible
from tests.e2e.test_bad_input_and_republication import population_line

NUMBER = "200801011230"  # 18 on the deployment's day (2026-03-02), not enrolled: in scope


@pytest.fixture(scope="module")
def youth(site: Site) -> str:
    site.publish(population_line(NUMBER, change="moved_in", effective="2026-01-15"))
    with site.deployment.client("register", "0180", "caseworker") as register:
        [row] = register.get("/v1/youths").json()["items"]
    return str(row["youth_id"])


@pytest.fixture
def caseworker(browser: Browser) -> Browser:
    browser.sign_in("anna.andersson")
    return browser


def typed(browser: Browser, field: str, text: str) -> None:
    element = browser.driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def submit(browser: Browser, label: str) -> None:
    """The button with `label` pressed with the keyboard (focused, then Enter)."""
    button = browser.driver.find_element(By.XPATH, f"//button[contains(., '{label}')]")
    button.send_keys(Keys.ENTER)
    WebDriverWait(browser.driver, 30).until(staleness_of(button))


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
    typed(caseworker, "sok-personnummer", NUMBER)
    submit(caseworker, "Sök")
    caseworker.wait_for_path(f"/ungdomar/{youth}")
    assert NUMBER not in caseworker.driver.current_url
