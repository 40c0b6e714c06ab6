"""The school's walk in real Chromium: a school's reporter uploads a CSV file with good and bad
rows (and a duplicate), sees the result per row, and the good dropouts appear on a caseworker's
open Min dag in a second browser; the same file again is only duplicates. The form by keyboard
alone; axe-core on the form, the upload and the result; a caseworker gets the forbidden page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, Site
from tests.browser.helpers import (
    Browser,
    assert_accessible,
    heard_live,
    listening,
    submit,
    visibly_focused,
)
from tests.e2e.conftest import TODAY
from tests.e2e.web_support import enrolled_seventeen_year_olds, notify

HEADER = "personnummer;händelse;datum;skolform;skolenhet;huvudman"


@pytest.fixture(scope="module")
def second() -> Iterator[webdriver.Chrome]:
    """A second Chromium: the caseworker's window, with its own cookies."""
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=sv-SE", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def reporter_signs_in(browser: Browser) -> None:
    """The school's reporter signs in through the development sign-in, with the keyboard. Its
    list offers the casework roles only for now (`signin.DEV_ROLES`): the option is added when
    missing (the form accepts any role)."""
    browser.open("/logga-in")
    browser.driver.execute_script(
        "const s = document.getElementById('role');"
        "if (![...s.options].some(o => o.value === 'school-reporter')) {"
        "  s.add(new Option('Skolrapportör', 'school-reporter')); }"
    )
    roles = browser.driver.find_element(By.ID, "role")
    roles.send_keys("Skolrapportör")
    assert Select(roles).first_selected_option.get_attribute("value") == "school-reporter"
    browser.driver.find_element(By.ID, "subject").send_keys("skola.sara", Keys.ENTER)
    browser.wait_for_path("/skola")


def outcomes(browser: Browser) -> dict[int, str]:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#skola-rader tbody tr")
    return {int(str(r.get_attribute("id")).removeprefix("rad-")):
            str(r.get_attribute("data-kaa-utfall")) for r in rows}  # fmt: skip


def shown_on(youth: str) -> Callable[[WebDriver], bool]:
    return lambda driver: bool(driver.find_elements(By.ID, f"ungdom-{youth}"))


def uploaded(browser: Browser, path: Path) -> None:
    browser.open("/skola/fil")
    browser.driver.find_element(By.ID, "fil").send_keys(str(path))
    submit(browser, "Ladda upp och skicka")
    assert browser.heading() == "Resultat av filen"


def test_a_schools_file_gives_a_result_per_row_and_its_dropouts_appear_on_min_dag(
    browser: Browser, site: Site, second: webdriver.Chrome, tmp_path: Path
) -> None:
    made = site.deployment
    warm, left, absent = enrolled_seventeen_year_olds(made, 3)
    caseworker = Browser(second, site.base_url)
    caseworker.sign_in("live.lisa")
    caseworker.open("/min-dag?vems=all")
    listening(caseworker)
    with made.client("identify", "0180", "school-reporter") as reporter:
        heard_live(caseworker, lambda: notify(reporter, warm, "absence"))

    reporter_signs_in(browser)
    assert browser.path == "/skola"
    browser.tab_to("Ladda upp en CSV-fil")
    browser.keys(Keys.ENTER)
    browser.wait_for_path("/skola/fil")
    assert_accessible(browser.driver, "the school's upload page")
    browser.screenshot("skola-fil", readme=True)
    day = TODAY.isoformat()
    bad = left[:-1] + str((int(left[-1]) + 1) % 10)
    csv = tmp_path / "elever.csv"
    csv.write_text("\n".join([
        HEADER,
        f"{left[:8]}-{left[8:]};slutade;{day};GY;unit-1;2120000142",
        f"{bad};slutade;{day};GY;unit-1;",
        f"{absent};slutade;{day};GY;=HYPERLINK(\"x\");",
        f"{absent};slutade;{day};GY;unit-1;",
        f"{left};Slutade;{day};gy;unit-1;",
        f"{warm};flyttade;{day};GY;unit-1;",
    ]) + "\n", encoding="utf-8-sig")  # fmt: skip
    uploaded(browser, csv)
    assert outcomes(browser) == {2: "accepted", 3: "refused", 4: "refused", 5: "accepted",
                                 6: "duplicate", 7: "refused"}  # fmt: skip
    text = browser.driver.find_element(By.ID, "skola-rader").text
    for said in ("kontrollsiffran är fel", "kan tolkas som en formel", "Samma anmälan som rad 2",
                 "Vad som hänt ska vara började, slutade eller frånvaro"):  # fmt: skip
        assert said in text
    page = browser.driver.page_source
    assert not [n for n in (warm, left, absent, bad, left[:8]) if n in page]
    assert_accessible(browser.driver, "the result of the school's file")
    browser.screenshot("skola-resultat", readme=True)

    asyncio.run(made.drained())
    with made.client("register", "0180", "caseworker") as register:
        youths = [register.post("/v1/youths/lookup", json={"personnummer": n,
                                "purpose": "casework"}).json()["youth_id"] for n in (left, absent)]  # fmt: skip
    for youth in youths:
        WebDriverWait(second, 30).until(
            shown_on(youth),
            "a dropout the school reported did not appear on the caseworker's open Min dag",
        )
    assert second.execute_script("return document.body.dataset.kaaMark") == "kept"

    uploaded(browser, csv)  # the same file again: nothing new
    assert outcomes(browser) == {2: "duplicate", 3: "refused", 4: "refused", 5: "duplicate",
                                 6: "duplicate", 7: "refused"}  # fmt: skip
    assert not [u for u in browser.requested_urls() if left in u or absent in u or left[:8] in u]
    assert browser.storage() == {"local": 0, "session": 0}


def test_one_student_reported_with_the_keyboard_alone(browser: Browser, site: Site) -> None:
    [student] = enrolled_seventeen_year_olds(site.deployment, 1)
    reporter_signs_in(browser)
    assert_accessible(browser.driver, "the school's report form")
    browser.screenshot("skola-anmalan", readme=True)
    driver = browser.driver
    driver.find_element(By.ID, "skola-personnummer").send_keys(student[:8] + "-0000")
    styles = []
    for keys in ([Keys.TAB, Keys.SPACE, Keys.ARROW_DOWN],
                 [Keys.TAB, TODAY.isoformat()], [Keys.TAB, "Gym"], [Keys.TAB, "unit-1"],
                 [Keys.TAB]):  # fmt: skip
        browser.keys(*keys)
        styles.append(browser.focus_style())
    assert all(visibly_focused(s) for s in styles), styles
    browser.keys(Keys.ENTER)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CLASS_NAME, "govuk-error-summary"))
    assert driver.switch_to.active_element.get_attribute("data-kaa-error-summary") is not None
    assert (
        "kontrollsiffran är fel" in driver.find_element(By.CLASS_NAME, "govuk-error-summary").text
    )
    assert student[:8] + "-0000" not in driver.page_source
    assert_accessible(driver, "the school's form with an error")
    field = driver.find_element(By.ID, "skola-personnummer")
    assert field.get_attribute("value") == ""  # never shown again: typed anew
    field.send_keys(student, Keys.ENTER)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "skola-svar"))
    said = driver.find_element(By.ID, "skola-svar").text
    assert "Anmälan är mottagen av hemkommunen." in said
    assert f"{student[:8]}-****" in said
    assert student not in driver.page_source
    assert_accessible(driver, "the school's answer")


def test_a_caseworker_gets_the_forbidden_page_for_the_schools_pages(browser: Browser) -> None:
    browser.sign_in("anna.andersson")
    for path in ("/skola", "/skola/fil"):
        browser.open(path)
        assert browser.heading() == "Du har inte behörighet"
    assert "Rapportera elever" not in browser.driver.find_element(By.TAG_NAME, "nav").text
