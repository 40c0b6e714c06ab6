"""A caseworker's day in Chromium, over the real services, Kafka and PostgreSQL (issue 17's proof).

One walk, in order, in one signed-in browser: Min dag → take a case → the contact log (an attempt
refused with a Swedish message beside its field and what was typed kept, then three attempts, a
contact, information given, an occupation) → the individual plan written → a measure offered,
declined, offered again, accepted, started and ended with the reason and the occupation after →
the plan's print view; then a school reports a dropout and the youth appears on the open Min dag
without a reload. axe-core finds no WCAG 2.1 AA violation on any page of it, refusals included.
Last, an attempt recorded on the contact form with the keyboard alone, every focus visible.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any, ClassVar

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from shared.personnummer import generate
from tests.browser.conftest import Site
from tests.browser.helpers import (
    Browser,
    assert_accessible,
    dropout_appears_live,
    submit,
    typed,
    visibly_focused,
)
from tests.browser.test_caseworker_pages import Youth
from tests.e2e.web_support import enrolled_seventeen_year_olds

RNG = random.Random(1717)
WALKER = Youth(generate(date(2008, 6, 15), RNG), "Wilma", "Åkesson")  # 17, in scope
KEYS = Youth(generate(date(2008, 5, 5), RNG), "Kim", "Tangentsson")


def seen(browser: Browser, page: str) -> None:
    """Every page of the walk: axe-core's WCAG 2.1 A and AA rules find nothing."""
    assert_accessible(browser.driver, page)


def main_text(browser: Browser) -> str:
    text: str = browser.driver.find_element(By.TAG_NAME, "main").text
    return text


def chosen(browser: Browser, field: str, value: str | None = None) -> None:
    """`value` chosen in the list `field` (its first real option when None)."""
    select = Select(browser.driver.find_element(By.ID, field))
    if value is None:
        select.select_by_index(1)
    else:
        select.select_by_value(value)


def field_error(browser: Browser, field: str) -> str:
    """The message tied to `field` (its aria-describedby names it), as shown beside it."""
    element = browser.driver.find_element(By.ID, field)
    assert f"{field}-fel" in (element.get_attribute("aria-describedby") or "").split()
    text: str = browser.driver.find_element(By.ID, f"{field}-fel").text
    return text


def attempt(browser: Browser, channel: str, outcome: str, at: str) -> None:
    chosen(browser, "forsok-channel", channel)
    chosen(browser, "forsok-outcome", outcome)
    typed(browser, "forsok-attempted_at", at)
    submit(browser, "Registrera kontaktförsöket")


def measure_step(browser: Browser, label: str, on: str, **choices: str) -> None:
    """A step of the (only) measure: its date, the lists it asks for, its button."""
    [day] = browser.driver.find_elements(By.CSS_SELECTOR, "input[id^='m-'][name='on']")
    prefix = str(day.get_attribute("id")).removesuffix("-on")
    day.clear()
    day.send_keys(on)
    for name, value in choices.items():
        chosen(browser, f"{prefix}-{name}", value or None)
    submit(browser, label)
    browser.wait_for_path(browser.path.split("?")[0])


@pytest.fixture(scope="class")
def walker(chromium: webdriver.Chrome, site: Site) -> Iterator[Browser]:
    """One browser signed in as a caseworker for the whole walk."""
    site.publish(WALKER.line())
    made = Browser(chromium, site.base_url)
    made.reset()
    made.sign_in("wera.walk")
    yield made
    made.reset()


class TestACaseworkersDay:
    """The steps run in order and share the browser and what they found (`state`)."""

    state: ClassVar[dict[str, Any]] = {}

    @property
    def youth(self) -> str:
        return str(self.state["youth"])

    def test_1_min_dag_and_taking_the_case(self, walker: Browser) -> None:
        walker.open("/min-dag?lista=first_contact&vems=all")
        assert WALKER.name in main_text(walker)
        seen(walker, "Min dag")
        submit(walker, f"Ta ärendet: {WALKER.name}")
        walker.wait_for_path("/ungdomar/")
        self.state["youth"] = walker.path.split("/")[2].split("?")[0]
        assert "wera.walk" in main_text(walker)
        assert WALKER.name in walker.heading()
        seen(walker, "the youth's overview after taking the case")

    def test_2_an_attempt_refused_is_said_beside_its_field_and_kept(self, walker: Browser) -> None:
        walker.open(f"/ungdomar/{self.youth}/kontakter")
        seen(walker, "the contact log, empty")
        attempt(walker, "phone", "not_reached", "2026-03-09 10:00")  # in the future: refused
        assert "Tidpunkt får inte ligga i framtiden" in field_error(walker, "forsok-attempted_at")
        summary = walker.driver.find_element(By.CSS_SELECTOR, "[data-kaa-error-summary]")
        assert "Tidpunkt får inte ligga i framtiden" in summary.text
        assert walker.driver.switch_to.active_element == summary
        kept = walker.driver.find_element(By.ID, "forsok-attempted_at")
        assert kept.get_attribute("value") == "2026-03-09 10:00"
        assert Select(walker.driver.find_element(By.ID, "forsok-channel")).first_selected_option \
            .get_attribute("value") == "phone"  # fmt: skip
        seen(walker, "the contact attempt form with a refusal")

    def test_3_three_attempts_a_contact_information_and_an_occupation(
        self, walker: Browser
    ) -> None:
        for channel, outcome, at in (
            ("phone", "not_reached", "2026-03-02 08:00"),
            ("sms", "not_reached", "2026-03-02 08:30"),
            ("phone", "reached", "2026-03-02 09:00"),
        ):
            attempt(walker, channel, outcome, at)
            walker.wait_for_path(f"/ungdomar/{self.youth}/kontakter?sparat=forsok")
            seen(walker, f"the contact log after an attempt at {at}")
        for form, label, saved in (
            ("kontakt", "Registrera kontakten", "kontakt"),
            ("information", "Registrera informationen", "information"),
        ):
            chosen(walker, f"{form}-channel", "phone")
            typed(walker, f"{form}-at", "2026-03-02 09:05")
            submit(walker, label)
            walker.wait_for_path(f"/ungdomar/{self.youth}/kontakter?sparat={saved}")
            seen(walker, f"the contact log after {form}")
        chosen(walker, "sysselsattning-category")
        typed(walker, "sysselsattning-from_date", "2026-03-02")
        submit(walker, "Registrera sysselsättningen")
        walker.wait_for_path(f"/ungdomar/{self.youth}/kontakter?sparat=sysselsattning")
        text = main_text(walker)
        for when in ("kl. 08:00", "kl. 08:30", "kl. 09:00"):
            assert when in text
        assert "Ingen sysselsättning är registrerad" not in text
        seen(walker, "the contact log, filled")
        walker.screenshot("kontakter", readme=True)

    def test_4_the_plan_written(self, walker: Browser) -> None:
        walker.open(f"/ungdomar/{self.youth}/plan")
        seen(walker, "the plan page, no plan yet")
        typed(walker, "goal", "Börja på komvux hösten 2026")
        typed(walker, "goals", "komvux\nkörkort")
        typed(walker, "insats-0-description", "Träffa studie- och yrkesvägledaren")
        typed(walker, "insats-0-start_date", "2026-03-02")
        typed(walker, "follow_up_on", "2026-04-01")
        typed(walker, "evaluation_on", "2026-06-01")
        submit(walker, "Spara ny version av planen")
        walker.wait_for_path(f"/ungdomar/{self.youth}/plan?sparad=1")
        assert "Träffa studie- och yrkesvägledaren" in main_text(walker)
        seen(walker, "the plan with its first revision")

    def test_5_a_measure_from_offer_to_its_end(self, walker: Browser) -> None:
        walker.open(f"/ungdomar/{self.youth}/insatser")
        seen(walker, "the measures page, none yet")
        chosen(walker, "erbjud-measure_type", "internship")
        typed(walker, "erbjud-offered_on", "2026-02-27")
        submit(walker, "Erbjud insatsen")
        walker.wait_for_path(f"/ungdomar/{self.youth}/insatser")
        seen(walker, "a measure offered")
        for label, on in (
            ("Ungdomen tackade nej", "2026-02-28"),
            ("Erbjud igen", "2026-03-01"),
            ("Ungdomen tackade ja", "2026-03-01"),
            ("Insatsen har startat", "2026-03-02"),
        ):
            measure_step(walker, label, on)
            seen(walker, f"the measure after {label!r}")
        measure_step(walker, "Avsluta insatsen", "2026-03-02", end_reason="", occupation_after="")
        text = main_text(walker)
        assert "Skäl till avslut" in text
        assert "Sysselsättning efter" in text
        assert not walker.driver.find_elements(By.CSS_SELECTOR, "button[name='steg']")
        seen(walker, "the measure ended")

    def test_6_the_plans_print_view(self, walker: Browser) -> None:
        walker.open(f"/ungdomar/{self.youth}/plan")
        walker.driver.find_element(By.LINK_TEXT, "Skriv ut planen").send_keys(Keys.ENTER)
        walker.wait_for_path(f"/ungdomar/{self.youth}/plan/utskrift")
        assert "Börja på komvux hösten 2026" in main_text(walker)
        assert not walker.driver.find_elements(By.TAG_NAME, "nav")
        seen(walker, "the plan's print view")
        walker.screenshot("utskrift", readme=True)

    def test_7_a_reported_dropout_appears_on_the_open_min_dag(
        self, walker: Browser, site: Site
    ) -> None:
        made = site.deployment
        warm, dropout = enrolled_seventeen_year_olds(made, 2)
        walker.open("/min-dag?lista=first_contact&vems=all")
        seen(walker, "Min dag, open for live updates")
        dropout_appears_live(walker, made, warm, dropout)
        seen(walker, "Min dag after the live update")


def test_an_attempt_is_recorded_on_the_contact_form_with_the_keyboard_alone(
    browser: Browser, site: Site
) -> None:
    """Tab, typing, arrow keys and Enter only (no click): every element that takes the focus on
    the way shows it."""
    youth = KEYS
    site.publish(youth.line())
    browser.sign_in("kim.keys")
    with site.deployment.client("register", "0180", "caseworker") as register:
        found = register.post("/v1/youths/lookup",
                              json={"personnummer": youth.number, "purpose": "casework"})  # fmt: skip
    assert found.status_code == 200, found.text
    youth_id = found.json()["youth_id"]
    browser.open(f"/ungdomar/{youth_id}/kontakter")
    passed = browser.tab_to("Välj kanal")
    browser.keys("Telefon")
    passed += browser.tab_to("Välj utfall")
    browser.keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)  # Nådd, Inte nådd
    browser.keys(Keys.TAB)
    passed.append(browser.focus_style())
    assert browser.focused().get_attribute("id") == "forsok-attempted_at"
    ActionChains(browser.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL) \
        .send_keys("2026-03-02 07:45", Keys.ENTER).perform()  # fmt: skip
    WebDriverWait(browser.driver, 30).until(
        lambda _: "sparat=forsok" in browser.path or browser.driver.find_elements(
            By.CSS_SELECTOR, "[data-kaa-error-summary]"))  # fmt: skip
    assert browser.path == f"/ungdomar/{youth_id}/kontakter?sparat=forsok", main_text(browser)
    unseen = [style for style in passed if not visibly_focused(style)]
    assert not unseen, f"focus not visible on: {unseen}"
    text = main_text(browser)
    assert "2 mars 2026 kl. 07:45" in text
    assert "Telefon" in text
    assert "Inte nådd" in text
    seen(browser, "the contact log after an attempt made with the keyboard")
