"""Min dag open in Chromium: a school reports that a student left, and the youth appears on the
page without a reload (htmx's SSE extension under the page's Content-Security-Policy)."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible, heard_live, listening
from tests.e2e.web_support import enrolled_seventeen_year_olds, notify


def test_a_reported_dropout_appears_on_the_open_min_dag_without_a_reload(
    browser: Browser, site: Site
) -> None:
    made = site.deployment
    warm, dropout = enrolled_seventeen_year_olds(made, 2)
    browser.sign_in("live.lisa")
    browser.open("/min-dag?vems=all")
    assert_accessible(browser.driver, "Min dag with live updates")
    listening(browser)
    with made.client("identify", "0180", "school-reporter") as reporter:
        heard_live(browser, lambda: notify(reporter, warm, "absence"))
        youth = notify(reporter, dropout, "left")
    WebDriverWait(browser.driver, 10).until(
        lambda driver: driver.find_elements(By.ID, f"ungdom-{youth}"),
        "the reported youth did not appear on the open page",
    )
    assert browser.driver.execute_script("return document.body.dataset.kaaMark") == "kept"
    assert_accessible(browser.driver, "Min dag after a live update")
