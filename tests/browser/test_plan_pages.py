"""The individual plan, its print view and the measures (insatser) in Chromium: axe-core finds no
WCAG 2.1 AA violation on any of them, empty, filled, or showing a refusal; the print view prints
black on white without the header, menu or tabs."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.helpers import Browser, assert_accessible, submit, typed


def test_the_plan_page_editor_refusal_and_print_view_are_accessible(
    caseworker: Browser, youth: str
) -> None:
    caseworker.open(f"/ungdomar/{youth}/plan")
    assert_accessible(caseworker.driver, "the plan page, no plan yet")
    typed(caseworker, "goal", "Börja på komvux hösten 2026")
    typed(caseworker, "goals", "komvux\nkörkort")
    typed(caseworker, "insats-0-description", "Träffa SYV")
    typed(caseworker, "insats-0-start_date", "2026-03-02")
    typed(caseworker, "insats-0-end_date", "2026-03-01")  # before its start: refused
    typed(caseworker, "evaluation_on", "2026-06-01")
    submit(caseworker, "Spara ny version av planen")
    summary = caseworker.driver.find_element(By.CSS_SELECTOR, "[data-kaa-error-summary]")
    assert "Insats 1: slutdatum får inte vara före startdatumet" in summary.text
    assert caseworker.driver.switch_to.active_element == summary
    assert caseworker.driver.find_element(By.ID, "goal").get_attribute("value") == (
        "Börja på komvux hösten 2026"
    )
    assert_accessible(caseworker.driver, "the plan editor with a refusal")
    caseworker.screenshot("plan-fel")

    typed(caseworker, "insats-0-end_date", "")
    submit(caseworker, "Spara ny version av planen")
    caseworker.wait_for_path(f"/ungdomar/{youth}/plan?sparad=1")
    assert "Träffa SYV" in caseworker.driver.find_element(By.TAG_NAME, "main").text
    assert_accessible(caseworker.driver, "the plan page with a revision")
    caseworker.screenshot("plan", readme=True)

    caseworker.driver.find_element(By.LINK_TEXT, "Skriv ut planen").send_keys(Keys.ENTER)
    caseworker.wait_for_path(f"/ungdomar/{youth}/plan/utskrift")
    assert not caseworker.driver.find_elements(By.TAG_NAME, "nav")
    assert_accessible(caseworker.driver, "the plan's print view")
    caseworker.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = caseworker.driver.execute_script(
            "const g = s => getComputedStyle(document.querySelector(s));"
            "return {header: g('.kaa-header').display, skip: g('.govuk-skip-link').display,"
            " h1: g('h1').color, body: g('body').backgroundColor};"
        )
        caseworker.screenshot("plan-utskrift")
    finally:
        caseworker.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert shown == {"header": "none", "skip": "none", "h1": "rgb(0, 0, 0)",
                     "body": "rgb(255, 255, 255)"}  # fmt: skip


def test_the_measures_page_is_accessible_in_each_state_and_with_a_refusal(
    caseworker: Browser, youth: str
) -> None:
    caseworker.open(f"/ungdomar/{youth}/insatser")
    assert_accessible(caseworker.driver, "the measures page, none yet")
    Select(caseworker.driver.find_element(By.ID, "erbjud-measure_type")).select_by_value(
        "internship"
    )
    typed(caseworker, "erbjud-offered_on", "2026-02-27")
    submit(caseworker, "Erbjud insatsen")
    caseworker.wait_for_path(f"/ungdomar/{youth}/insatser")
    assert_accessible(caseworker.driver, "a measure offered")

    [day] = caseworker.driver.find_elements(By.CSS_SELECTOR, "input[id$='-on'][name='on']")[:1]
    day.clear()
    day.send_keys("2026-02-26")  # before the offer: refused
    submit(caseworker, "Ungdomen tackade nej")
    summary = caseworker.driver.find_element(By.CSS_SELECTOR, "[data-kaa-error-summary]")
    assert "får inte vara före datumet insatsen erbjöds" in summary.text
    assert_accessible(caseworker.driver, "a step refused")

    for label, on in (
        ("Ungdomen tackade ja", "2026-03-01"),
        ("Insatsen har startat", "2026-03-02"),
    ):
        [day] = caseworker.driver.find_elements(By.CSS_SELECTOR, "input[id$='-on'][name='on']")[:1]
        day.clear()
        day.send_keys(on)
        submit(caseworker, label)
        caseworker.wait_for_path(f"/ungdomar/{youth}/insatser")
    assert caseworker.driver.find_elements(By.XPATH, "//button[contains(., 'Avsluta insatsen')]")
    assert_accessible(caseworker.driver, "a started measure with its end form")
    caseworker.screenshot("insatser", readme=True)
