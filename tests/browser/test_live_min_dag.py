"""Min dag open in Chromium: a school reports that a student left, and the youth appears on the
page without a reload (htmx's SSE extension under the page's Content-Security-Policy)."""

from __future__ import annotations

from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible, dropout_appears_live
from tests.e2e.web_support import enrolled_seventeen_year_olds


def test_a_reported_dropout_appears_on_the_open_min_dag_without_a_reload(
    browser: Browser, site: Site
) -> None:
    made = site.deployment
    warm, dropout = enrolled_seventeen_year_olds(made, 2)
    browser.sign_in("live.lisa")
    browser.open("/min-dag?vems=all")
    assert_accessible(browser.driver, "Min dag with live updates")
    dropout_appears_live(browser, made, warm, dropout)
    assert_accessible(browser.driver, "Min dag after a live update")
