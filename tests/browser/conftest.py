"""Browser tests: the web application in real Chromium in front of the real services.

One deployment per test module (the four services, Kafka and PostgreSQL, as `tests/e2e` starts them)
with a web process whose development sign-in is on, and one headless Chromium per module driven by
Debian's chromedriver (`./run test` installs both when missing; Selenium Manager never runs, so
nothing is downloaded). Each test starts with no cookies and an empty network log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from kaa.deployment import Deployment, free_port
from tests.browser.helpers import Browser
from tests.conftest import RunningInfra
from tests.e2e.conftest import running
from tests.e2e.test_bad_input_and_republication import population_line

IN_SCOPE = "200801011230"  # 18 on the deployment's day (2026-03-02), not enrolled: in scope

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@dataclass(frozen=True)
class Site:
    """A running deployment and its web application's address."""

    deployment: Deployment
    base_url: str

    def publish(self, *lines: bytes) -> None:
        """Feed lines through the feed adapter, then wait until every service has read them."""
        asyncio.run(self.deployment.publish_feed("population", list(lines)))
        asyncio.run(self.deployment.drained())


@pytest.fixture(scope="module")
def site(infra: RunningInfra) -> Iterator[Site]:
    with running(infra) as made:
        assert made.platform is not None
        web = made.platform.start_web(free_port(), dev_signin=True, key="web")
        yield Site(made, web.url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[webdriver.Chrome]:
    for needed in (CHROMIUM, CHROMEDRIVER):
        assert needed.exists(), (
            f"{needed} is missing: ./run test installs it (Debian: chromium, chromium-driver)"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=sv-SE", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    # Every request the page makes, for the test that no URL carries personal data.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: webdriver.Chrome, site: Site) -> Browser:
    """The module's Chromium with no cookies and storage left from an earlier test."""
    made = Browser(chromium, site.base_url)
    made.reset()
    return made


@pytest.fixture(scope="module")
def youth(site: Site) -> str:
    """One youth in scope (IN_SCOPE moved in), the module's only youth: their id."""
    site.publish(population_line(IN_SCOPE, change="moved_in", effective="2026-01-15"))
    with site.deployment.client("register", "0180", "caseworker") as register:
        [row] = register.get("/v1/youths").json()["items"]
    return str(row["youth_id"])


@pytest.fixture
def caseworker(browser: Browser) -> Browser:
    browser.sign_in("anna.andersson")
    return browser
