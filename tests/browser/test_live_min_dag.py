"""Min dag open in Chromium: a school reports that a student left, and the youth appears on the
page without a reload (htmx's SSE extension under the page's Content-Security-Policy)."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible
from tests.e2e.conftest import TODAY
from tests.e2e.test_identify import enrolment, number, population, school

SEVENTEEN = date(2008, 9, 14)
HEARD = "document.body.dataset.kaaHeard"


def test_a_reported_dropout_appears_on_the_open_min_dag_without_a_reload(
    browser: Browser, site: Site
) -> None:
    made = site.deployment
    warm, dropout = number(SEVENTEEN), number(SEVENTEEN)
    asyncio.run(
        made.publish_feed("population", [population(n, SEVENTEEN) for n in (warm, dropout)])
    )
    enrolled = [school(n, [enrolment("GY", startDate="2024-08-20")]) for n in (warm, dropout)]
    asyncio.run(made.publish_feed("ss12000", enrolled))
    asyncio.run(made.drained())
    browser.sign_in("live.lisa")
    browser.open("/min-dag?vems=all")
    assert_accessible(browser.driver, "Min dag with live updates")
    # A mark on this document (gone if the page reloads) and a note of each live event heard.
    browser.driver.execute_script(
        "document.body.dataset.kaaMark = 'kept';"
        "document.body.addEventListener('htmx:sseMessage', function () {"
        f"  {HEARD} = 'yes'; }});"
    )
    with made.client("identify", "0180", "school-reporter") as reporter:

        def notify(personnummer: str, kind: str) -> str:
            answer = reporter.post("/v1/school-notifications", json={
                "personnummer": personnummer, "kind": kind, "on": TODAY.isoformat(),
                "school_type": "GY", "school_unit": "unit-1"})  # fmt: skip
            assert answer.status_code == 202, answer.text
            return str(answer.json()["youth_id"])

        # The web's subscriber listens from the latest offset once it has its partitions: an
        # absence report (no change of scope) until the page hears one.
        deadline = time.monotonic() + 60
        while browser.driver.execute_script(f"return {HEARD} || ''") != "yes":
            assert time.monotonic() < deadline, "the page never heard a live event"
            notify(warm, "absence")
            time.sleep(2)
        youth = notify(dropout, "left")
    WebDriverWait(browser.driver, 10).until(
        lambda driver: driver.find_elements(By.ID, f"ungdom-{youth}"),
        "the reported youth did not appear on the open page",
    )
    assert browser.driver.execute_script("return document.body.dataset.kaaMark") == "kept"
    assert_accessible(browser.driver, "Min dag after a live update")
