"""A caseworker's first pages in Chromium: sign-in, Min dag, taking a case with the keyboard alone,
the youth's page. axe-core finds no WCAG 2.1 AA violation on any of them; no personal data reaches
a URL or the browser's storage; the session cookie is out of the page's reach; the security
headers arrive and the browser enforces them."""

from __future__ import annotations

import json
import random
import re
from datetime import date
from urllib.parse import unquote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from shared.personnummer import generate
from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible, axe, visibly_focused
from tests.e2e.test_bad_input_and_republication import population_line

YOUTH_ID_PATH = re.compile(
    r"^/ungdomar/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


class Youth:
    def __init__(self, number: str, given: str, family: str) -> None:
        self.number, self.given, self.family = number, given, family

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"

    def line(self) -> bytes:
        """A population record: folkbokförd in 0180 since 2026-01-15, not enrolled: in scope."""
        record = json.loads(population_line(self.number, effective="2026-01-15"))
        record["record"].update(given_name=self.given, family_name=self.family)
        return json.dumps(record).encode()

    def traces(self) -> list[str]:
        """How this youth's personal data could be written in a URL."""
        digits = self.number
        return [digits, digits[2:], f"{digits[:8]}-{digits[8:]}", f"{digits[2:8]}-{digits[8:]}",
                self.given.lower(), self.family.lower()]  # fmt: skip


@pytest.fixture(scope="module")
def youths(site: Site) -> list[Youth]:
    rng = random.Random(17)
    made = [
        Youth(generate(date(2008, 2, 14), rng), "Saga", "Lindqvist"),
        Youth(generate(date(2007, 9, 3), rng), "Elias", "Öberg"),
    ]
    site.publish(*(youth.line() for youth in made))
    return made


def accessible(browser: Browser, page: str) -> None:
    assert_accessible(browser.driver, page)


def test_the_sign_in_page_has_no_accessibility_violations(browser: Browser) -> None:
    browser.open("/logga-in")
    assert browser.driver.find_element(By.TAG_NAME, "h1").text == "Logga in"
    accessible(browser, "Logga in")
    browser.screenshot("logga-in", readme=True)


def test_a_youth_published_to_the_feeds_is_on_min_dag_by_name(
    browser: Browser, youths: list[Youth]
) -> None:
    browser.sign_in()
    browser.open("/min-dag?lista=first_contact&vems=all")
    table = browser.driver.find_element(By.CSS_SELECTOR, "table.govuk-table")
    rows = {row.find_element(By.TAG_NAME, "a").text.split(",")[0]: row.text
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}  # fmt: skip
    for youth in youths:
        assert youth.name in rows, f"{youth.name} not on the first-contact list: {list(rows)}"
        assert "0 arbetsdagar av 10" in rows[youth.name]  # the contact clock in words
    accessible(browser, "Min dag")
    browser.screenshot("min-dag", readme=True)


def test_a_case_is_taken_with_the_keyboard_alone_and_every_focus_is_visible(
    browser: Browser, youths: list[Youth]
) -> None:
    # A caseworker takes an unassigned case for themselves (outreach's PUT .../assignment).
    browser.sign_in("karin.berg", role="caseworker")
    visited = browser.tab_to("Hela kommunen")
    browser.keys(Keys.ENTER)
    browser.wait_for_path("/min-dag?lista=first_contact&vems=all")
    youth = youths[0]
    visited += browser.tab_to(f"Ta ärendet: {youth.name}")
    browser.keys(Keys.ENTER)
    browser.wait_for_path("/ungdomar/")
    assert YOUTH_ID_PATH.match(browser.path), (browser.path, browser.heading())
    unseen = [style for style in visited if not visibly_focused(style)]
    assert not unseen, f"focus not visible on: {unseen}"
    accessible(browser, "the youth's page")
    browser.screenshot("ungdom", readme=True)
    assert "karin.berg" in browser.driver.find_element(By.TAG_NAME, "main").text

    def among_mine(_: object) -> bool:
        browser.open("/min-dag?lista=first_contact&vems=mine")
        return youth.name in browser.driver.find_element(By.TAG_NAME, "main").text

    WebDriverWait(browser.driver, 30, poll_frequency=1).until(among_mine)


def test_no_personal_data_in_urls_or_the_browsers_storage(
    browser: Browser, youths: list[Youth]
) -> None:
    browser.sign_in()
    for path in ("/min-dag", "/min-dag?lista=first_contact&vems=all"):
        browser.open(path)
        assert browser.storage() == {"local": 0, "session": 0}, path
    for youth in youths:
        browser.open("/min-dag?lista=first_contact&vems=all")
        browser.driver.find_element(By.PARTIAL_LINK_TEXT, youth.name).send_keys(Keys.ENTER)
        browser.wait_for_path("/ungdomar/")
        assert browser.storage() == {"local": 0, "session": 0}, browser.path
    urls = [unquote(url).lower() for url in browser.requested_urls()]
    assert any("/ungdomar/" in url for url in urls)
    for youth in youths:
        leaked = [url for url in urls if any(trace in url for trace in youth.traces())]
        assert not leaked, f"personal data in URLs: {leaked}"


def test_the_session_cookie_is_out_of_the_pages_reach(browser: Browser) -> None:
    browser.sign_in()
    cookies = {cookie["name"]: cookie for cookie in browser.driver.get_cookies()}
    session = cookies["__Host-kaa-session"]
    assert session["httpOnly"] is True
    assert session["secure"] is True
    assert session["sameSite"] == "Lax"
    assert "kaa-session" not in browser.driver.execute_script("return document.cookie")


def test_the_security_headers_arrive_and_the_browser_refuses_inline_script(
    browser: Browser,
) -> None:
    browser.sign_in()
    browser.open("/min-dag")
    headers = browser.document_headers("/min-dag")
    csp = headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp or "default-src 'self'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    ran = browser.driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.kaaInline = 1';"
        "document.body.appendChild(s); return window.kaaInline === 1;"
    )
    assert ran is False, "an inline script ran: the CSP does not hold"


def test_the_checks_themselves_catch_a_missing_label_and_a_hidden_focus(browser: Browser) -> None:
    """The harness can fail: an input without a label is an axe violation, and a focus whose
    outline and shadow a style sheet takes away is not visible."""
    browser.open("/logga-in")
    browser.driver.find_element(By.ID, "subject").send_keys("")  # focuses the field
    assert visibly_focused(browser.focus_style())
    browser.driver.execute_script(
        "const i = document.createElement('input'); i.id = 'unlabelled';"
        "document.querySelector('main').appendChild(i);"
        "const sheet = new CSSStyleSheet();"
        "sheet.replaceSync('*:focus { outline: none !important; box-shadow: none !important }');"
        "document.adoptedStyleSheets = [sheet];"
    )
    found = axe(browser.driver)
    assert any(v["id"] == "label" and "#unlabelled" in v["targets"] for v in found), found
    style = browser.focus_style()
    assert style is not None
    assert style["tag"] == "INPUT"
    assert not visibly_focused(style)
