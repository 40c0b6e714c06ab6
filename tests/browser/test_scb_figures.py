"""A coordinator's figures in Chromium, over the real services, Kafka and PostgreSQL (issue 19's
proof for the SCB half-year, the data quality and the exports).

A municipality's autumn 2025 and spring 2026 are published as the services would have published
them (identifications with sealed personal details, contact attempts; one youth no population
record ever named). One walk, in order, in one signed-in browser: the quality charts read (and
their workbook opened with openpyxl: the same rows as the page) → the SCB check of the closed
half-year, its error followed to the youth → the export refused with the check report → the file
exported anyway, downloaded, its SHA-256 the one the history shows as standing → a worklist
exported with names. axe-core finds no WCAG 2.1 AA violation on any page of it, and no URL the
browser asked for holds a personnummer.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from shared.personnummer import generate
from tests.browser.conftest import Site
from tests.browser.helpers import Browser, assert_accessible, submit
from tests.e2e.test_scb_report import Script

RNG = random.Random(1919)
NUMBERS = {name: generate(born, RNG) for name, born in (
    ("a", date(2008, 3, 14)), ("b", date(2007, 11, 2)), ("c", date(2009, 1, 20)),
)}  # fmt: skip


def published(site: Site) -> dict[str, uuid.UUID]:
    """The half-years onto the topics: A and B in the autumn (B's first attempt after 13 working
    days, over the limit of 10), U unnamed in November, C in January."""
    script = Script(site.deployment)
    youths = {name: uuid.uuid4() for name in ("a", "b", "u", "c")}
    script.identified(youths["a"], "2025-09-01", "GY", NUMBERS["a"], date(2008, 3, 14))
    script.attempt(youths["a"], "2025-09-10", "reached")
    script.identified(youths["b"], "2025-10-01", "GR", NUMBERS["b"], date(2007, 11, 2))
    script.attempt(youths["b"], "2025-10-20", "not_reached")
    script.identified(youths["u"], "2025-11-03", None, None, date(2008, 5, 5))
    script.identified(youths["c"], "2026-01-12", "IM", NUMBERS["c"], date(2009, 1, 20))
    script.attempt(youths["c"], "2026-01-14", "reached")
    script.publish()
    return youths


def downloaded(folder: Path, suffix: str, before: set[Path], wait: float = 30.0) -> Path:
    """The file Chromium saved into `folder` since `before` was listed."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        new = [p for p in folder.glob(f"*{suffix}") if p not in before]
        if new and not list(folder.glob("*.crdownload")):
            return new[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file was downloaded into {folder}")


@pytest.fixture(scope="class")
def coordinator(
    chromium: webdriver.Chrome, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """One browser signed in as a coordinator for the whole walk, saving files into a folder."""
    folder = tmp_path_factory.mktemp("nedladdat")
    chromium.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    TestACoordinatorsFigures.state.update(youths=published(site), folder=folder)
    made = Browser(chromium, site.base_url)
    made.reset()
    made.sign_in("sam.samordnare", "coordinator")
    yield made
    made.reset()


def seen(browser: Browser, page: str) -> None:
    assert_accessible(browser.driver, page)


def cells(browser: Browser, table: str) -> list[list[str]]:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, f"{table} tr")
    return [[c.text for c in r.find_elements(By.CSS_SELECTOR, "th, td")] for r in rows]


def as_shown(value: Any) -> str:
    """A workbook cell as the page writes it (dates ISO, a decimal comma)."""
    if value is None:
        return ""
    if hasattr(value, "date"):
        return str(value.date().isoformat())
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)


class TestACoordinatorsFigures:
    """The steps run in order and share the browser and what they found (`state`)."""

    state: ClassVar[dict[str, Any]] = {}

    def files(self) -> set[Path]:
        return set(Path(self.state["folder"]).iterdir())

    def test_1_the_quality_charts_and_their_workbook(self, coordinator: Browser) -> None:
        coordinator.open("/datakvalitet")
        assert coordinator.heading() == "Datakvalitet"
        charts = coordinator.driver.find_elements(By.CSS_SELECTOR, "svg[role='img']")
        assert len(charts) == 6
        for chart in charts:
            title, desc = str(chart.get_attribute("aria-labelledby")).split()
            assert chart.find_element(By.ID, title).get_attribute("textContent")
            assert chart.find_element(By.ID, desc).get_attribute("textContent")
        shown = cells(coordinator, "[data-kaa-quality-table]")
        assert shown[0] == ["Uppgift", "Andra halvåret 2024", "Första halvåret 2025",
                            "Andra halvåret 2025", "Första halvåret 2026"]  # fmt: skip
        assert shown[3][1:] == ["0", "0", "3", "4"]  # youths in scope in each half-year
        seen(coordinator, "the data quality page")
        Select(coordinator.driver.find_element(By.ID, "fordelning-halvar")).select_by_value(
            "2025H2"
        )
        submit(coordinator, "Visa fördelningen")
        distribution = coordinator.driver.find_element(By.ID, "diagram-fordelning")
        said = str(distribution.find_element(By.TAG_NAME, "desc").get_attribute("textContent"))
        assert "2 första kontaktförsök. 1 inom gränsen på 10 arbetsdagar, 1 över den." in said
        seen(coordinator, "the distribution of the autumn")
        coordinator.screenshot("datakvalitet-diagram", readme=True)
        before = self.files()
        coordinator.driver.find_element(By.LINK_TEXT,
                                        "Ladda ner siffrorna som Excel-arbetsbok").click()  # fmt: skip
        book = openpyxl.load_workbook(downloaded(self.state["folder"], ".xlsx", before))
        assert book.active is not None
        rows = [[as_shown(v) for v in row] for row in book.active.iter_rows(values_only=True)]
        assert rows == shown

    def test_2_the_check_names_each_error_and_links_it_to_the_youth(
        self, coordinator: Browser
    ) -> None:
        coordinator.driver.find_element(By.LINK_TEXT, "SCB-rapport").click()
        coordinator.wait_for_path("/scb")
        assert coordinator.heading() == "SCB-rapport, andra halvåret 2025"  # the last closed one
        assert "Halvåret är avslutat men ingen fil har skapats" in coordinator.driver.page_source
        seen(coordinator, "the SCB page before any file")
        submit(coordinator, "Kör kontrollen")
        coordinator.wait_for_path("/scb/kontroll?period=2025H2")
        [error] = [row for row in cells(coordinator, "[data-kaa-findings]") if row[0] == "Fel"]
        assert error[0] == "Fel"
        assert error[1].startswith("Öppna ungdomen")
        assert error[2:] == ["1 Obligatoriska uppgifter", "Personnummer",
                             "Ingen uppgift från folkbokföringen har namngett ungdomen"]  # fmt: skip
        seen(coordinator, "the check report")
        coordinator.screenshot("scb-kontroll", readme=True)
        link = coordinator.driver.find_element(By.PARTIAL_LINK_TEXT, "Öppna ungdomen")
        link.send_keys(Keys.ENTER)
        coordinator.wait_for_path("/ungdomar/")
        assert coordinator.path == f"/ungdomar/{self.state['youths']['u']}"
        seen(coordinator, "the youth the error concerns")

    def test_3_an_export_with_errors_is_refused_with_the_report(self, coordinator: Browser) -> None:
        coordinator.open("/scb?period=2025H2")
        submit(coordinator, "Skapa och ladda ner filen")
        summary = coordinator.driver.find_element(By.CSS_SELECTOR, "[data-kaa-error-summary]")
        assert "Filen skapades inte: kontrollen hittade 1 fel" in summary.text
        assert coordinator.driver.find_elements(By.CSS_SELECTOR, "[data-kaa-findings]")
        seen(coordinator, "the export refused")

    def test_4_the_file_downloaded_is_the_one_the_history_shows(self, coordinator: Browser) -> None:
        force = coordinator.driver.find_element(By.ID, "scb-force")
        force.send_keys(Keys.SPACE)
        before = self.files()
        button = coordinator.driver.find_element(By.XPATH, "//button[contains(., 'Skapa och')]")
        button.send_keys(Keys.ENTER)
        saved = downloaded(self.state["folder"], ".txt", before)
        assert saved.name == "kaa-scb-0180-2025H2.txt"
        content = saved.read_bytes()
        assert content.startswith(b"#KAA-SCB;")
        assert NUMBERS["a"].encode() in content  # the file SCB gets holds the personnummer
        coordinator.open("/scb?period=2025H2")
        history = coordinator.driver.find_element(By.CSS_SELECTOR, "[data-kaa-history]")
        [row] = history.find_elements(By.CSS_SELECTOR, "tbody tr")
        hashed = row.find_element(By.CSS_SELECTOR, "[data-kaa-sha256]")
        assert hashed.get_attribute("data-kaa-sha256") == hashlib.sha256(content).hexdigest()
        assert "Gäller" in row.text
        assert "Skapad trots 1 fel" in row.text
        assert "händelser" in row.text  # the event range it was built from
        seen(coordinator, "the history of files")
        coordinator.screenshot("scb-historik", readme=True)

    def test_5_a_worklist_exported_with_names(self, coordinator: Browser) -> None:
        coordinator.open("/datakvalitet/listor")
        assert coordinator.heading() == "Exportera listor"
        seen(coordinator, "the export page")
        coordinator.screenshot("datakvalitet-listor", readme=True)
        coordinator.driver.find_element(By.ID, "arbetslista-namn").send_keys(Keys.SPACE)
        before = self.files()
        button = coordinator.driver.find_element(By.XPATH, "//button[contains(., 'arbetslistan')]")
        button.send_keys(Keys.ENTER)
        book = openpyxl.load_workbook(downloaded(self.state["folder"], ".xlsx", before))
        assert book.active is not None
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0][:3] == ("Ungdomens id", "Namn", "Orsak")
        # Outreach recorded no attempt itself (the script published them as if from elsewhere):
        # all four await a first contact; the register names three and says U has no name.
        named = {str(r[0]): str(r[1]) for r in rows[1:]}
        youths = self.state["youths"]
        assert set(named) == {str(y) for y in youths.values()}
        assert named.pop(str(youths["u"])) == "Namn saknas"
        assert all(name.startswith("Test Person, ") for name in named.values())

    def test_6_no_url_held_a_personnummer(self, coordinator: Browser) -> None:
        urls = coordinator.requested_urls()
        assert urls
        for number in NUMBERS.values():
            assert not any(number in url or number[2:] in url for url in urls), number
        assert coordinator.storage() == {"local": 0, "session": 0}
