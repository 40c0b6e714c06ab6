"""The operator's Drift page and the consortium administrator's Konsortiet in Chromium, over the
real services, Kafka and PostgreSQL (issue 19's proof for these roles).

An operator signs in and lands on Drift; a bad record is loaded through the feed adapter; the open
page, refreshing by itself, shows the dead letter's reason (never the record: its personnummer is
nowhere on the page) and says politely that the summary changed. axe-core finds no WCAG 2.1 AA
violation on either page; the operator reaches the reload link with the keyboard alone, every
focus visible. A caseworker gets the forbidden page for Drift, an operator for Konsortiet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.web.domain.menu import start_page
from services.web.domain.swedish import ROLES
from tests.browser.conftest import IN_SCOPE, Site
from tests.browser.helpers import Browser, assert_accessible, visibly_focused
from tests.e2e.test_bad_input_and_republication import population_line

BAD_NUMBER = "200801011231"  # its check digit is wrong: identify parks the record
REASON = "record.personnummer: check digit does not match"


def sign_in(browser: Browser, subject: str, role: str) -> None:
    """The development sign-in as `role`: its form offers the casework roles only
    (`entrypoints/signin.py` DEV_ROLES) while it accepts every role, so the role's option is
    added to the list first when missing; then the keyboard, as `Browser.sign_in`."""
    browser.open("/logga-in")
    browser.driver.execute_script(
        "const s = document.getElementById('role');"
        "if (![...s.options].some(o => o.value === arguments[0])) {"
        "  s.add(new Option(arguments[1], arguments[0])); }",
        role,
        ROLES[role],
    )
    roles = browser.driver.find_element(By.ID, "role")
    roles.send_keys(ROLES[role])
    assert Select(roles).first_selected_option.get_attribute("value") == role
    browser.driver.find_element(By.ID, "subject").send_keys(subject, Keys.ENTER)
    browser.wait_for_path(start_page([role]))


T = TypeVar("T")


def swapped(read: Callable[[], T]) -> T:
    """`read()` of a part of the page that swaps itself in while it is read: an element found
    just before the swap is gone when its text is asked for, so it is found again."""
    for _ in range(9):
        try:
            return read()
        except StaleElementReferenceException:
            time.sleep(0.2)
    return read()


def text_of(browser: Browser, element_id: str) -> str:
    return swapped(lambda: str(browser.driver.find_element(By.ID, element_id).text))


def outbox(browser: Browser, service: str) -> tuple[int, ...]:
    """The outbox table's numbers for `service`: recorded, published, waiting."""

    def read() -> tuple[int, ...]:
        row = browser.driver.find_element(
            By.XPATH, f"//table[@id='utkorgar']//tr[th[normalize-space()='{service}']]"
        )
        return tuple(int(cell.text) for cell in row.find_elements(By.TAG_NAME, "td"))

    return swapped(read)


def test_an_operator_sees_a_dead_letters_reason_on_the_page_refreshing_itself(
    browser: Browser, site: Site
) -> None:
    sign_in(browser, "olle.drift", "operator")
    assert browser.path == "/drift"
    assert browser.heading() == "Drift"
    for service in ("Identifiering", "Uppsökande", "Insatser", "Registret"):
        assert service in text_of(browser, "drift-innehall")
    assert "Svarar inte" not in text_of(browser, "drift-innehall")
    assert REASON not in text_of(browser, "felkoer")
    assert_accessible(browser.driver, "/drift")

    moved_in = population_line(IN_SCOPE, change="moved_in", effective="2026-01-15")
    site.publish(population_line(BAD_NUMBER), moved_in)  # through the feed adapter; drained
    WebDriverWait(browser.driver, 60, poll_frequency=1).until(
        lambda _: REASON in text_of(browser, "felkoer")
    )
    assert browser.path == "/drift"  # swapped in by the page itself, not reloaded
    assert "Läget har ändrats" in text_of(browser, "drift-status")
    assert "1 meddelande i felköerna" in text_of(browser, "drift-problem")
    page = browser.driver.find_element(By.TAG_NAME, "body").get_attribute("innerHTML") or ""
    assert BAD_NUMBER not in page
    assert IN_SCOPE not in page
    # The good record's events went out through identify's outbox: recorded, none waiting.
    WebDriverWait(browser.driver, 30, poll_frequency=1).until(
        lambda _: outbox(browser, "Identifiering")[0] > 0
    )
    WebDriverWait(browser.driver, 30, poll_frequency=1).until(  # the relay has caught up
        lambda _: (numbers := outbox(browser, "Identifiering"))[1:] == (numbers[0], 0)
    )
    assert "Ingen partition ligger efter" in text_of(browser, "partitioner-efter")
    assert_accessible(browser.driver, "/drift after a refresh")
    assert browser.storage() == {"local": 0, "session": 0}
    assert not any(BAD_NUMBER in url for url in browser.requested_urls())
    browser.screenshot("drift-oversikt", readme=True)

    browser.open("/drift")  # without the refresh: the same, rendered by the server
    assert REASON in text_of(browser, "felkoer")


def test_the_operator_reloads_drift_with_the_keyboard_alone(browser: Browser) -> None:
    sign_in(browser, "olle.drift", "operator")
    passed = browser.tab_to("läs in sidan igen")
    assert all(visibly_focused(style) for style in passed), passed
    browser.keys(Keys.ENTER)
    WebDriverWait(browser.driver, 30).until(lambda _: browser.heading() == "Drift")
    assert browser.path == "/drift"


def test_a_caseworker_may_not_see_drift_nor_an_operator_konsortiet(browser: Browser) -> None:
    browser.sign_in("anna.andersson", "caseworker")
    browser.open("/drift")
    assert browser.heading() == "Du har inte behörighet"
    browser.open("/drift/innehall")
    assert browser.heading() == "Du har inte behörighet"
    browser.reset()
    sign_in(browser, "olle.drift", "operator")
    browser.open("/konsortium")
    assert browser.heading() == "Du har inte behörighet"
    assert_accessible(browser.driver, "the forbidden page")


def test_the_consortium_administrator_sees_the_members_and_the_catalogue(
    browser: Browser, site: Site
) -> None:
    shared = {"name": "Byggkollo", "provider": "Byggföretagen i länet", "shared": True,
              "description": "Fyra veckors sommarpraktik på en byggarbetsplats."}  # fmt: skip
    with site.deployment.client("measures", "0180", "consortium-admin") as measures:
        assert measures.put("/v1/catalogue/byggkollo", json=shared).status_code == 200
    sign_in(browser, "karin.konsortium", "consortium-admin")
    assert browser.path == "/konsortium"
    assert browser.heading().startswith("Konsortiet")
    members = text_of(browser, "medlemmar")
    assert "0180" in members
    assert "730 (standard)" in members
    catalogue = text_of(browser, "katalog")
    assert "Praktik" in catalogue  # a standard measure, as 0180 may offer it
    assert catalogue.index("Byggkollo") < catalogue.index("Praktik")  # the shared ones first
    assert "Konsortiets gemensamma" in catalogue
    assert_accessible(browser.driver, "/konsortium")
    passed = browser.tab_to("Logga ut")
    assert all(visibly_focused(style) for style in passed), passed
    browser.screenshot("konsortium-oversikt", readme=True)
