"""What the browser tests do in Chromium: sign in, move with the keyboard, run axe-core, take
screenshots, and read what the browser saw on the network."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from kaa.deployment import Deployment
from services.web.domain.menu import start_page
from services.web.domain.swedish import ROLES
from tests.e2e.web_support import notify

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "services" / "web" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
HEARD = "document.body.dataset.kaaHeard"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                          targets: v.nodes.map(n => n.target.join(' '))}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), targets: []}]));
"""

_FOCUS_STYLE = r"""
const e = document.activeElement;
if (!e || e === document.body) return null;
const s = getComputedStyle(e);
return {outlineStyle: s.outlineStyle, outlineColor: s.outlineColor, outlineWidth: s.outlineWidth,
        boxShadow: s.boxShadow, tag: e.tagName,
        text: (e.textContent || e.value || '').replace(/\s+/g, ' ').trim()};
"""


def axe(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA violations on the page shown now."""
    assert AXE.exists(), f"{AXE} is missing: ./run test installs it (npm ci in services/web/assets)"
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = driver.execute_async_script(_RUN_AXE, WCAG_21_AA)
    return found


def assert_accessible(driver: webdriver.Chrome, page: str) -> None:
    """No WCAG 2.1 A or AA violation on the page shown now; the failure names each rule and the
    elements it found."""
    found = axe(driver)
    assert not found, f"axe-core on {page}:\n{violations_text(found)}"


def violations_text(found: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}: {v['help']}): {', '.join(v['targets'][:5])}"
                     for v in found)  # fmt: skip


def visibly_focused(style: dict[str, str] | None) -> bool:
    """The focused element's computed style draws a focus indicator: an outline that is not
    transparent, or a box shadow."""
    if style is None:
        return False
    outline = (style["outlineStyle"] != "none" and style["outlineWidth"] not in ("0px", "")
               and style["outlineColor"] not in ("transparent", "rgba(0, 0, 0, 0)"))  # fmt: skip
    return outline or style["boxShadow"] not in ("none", "")


@dataclass
class Browser:
    """The module's Chromium, pointed at one web application."""

    driver: webdriver.Chrome
    base_url: str

    def reset(self) -> None:
        self.driver.get(self.base_url + "/logga-in")
        self.driver.delete_all_cookies()
        self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")
        self.network()  # drop what earlier tests requested

    def network(self) -> list[dict[str, Any]]:
        """Chromium's performance log since the last call (it is emptied by reading)."""
        entries: list[dict[str, Any]] = self.driver.get_log("performance")  # type: ignore[no-untyped-call]
        return entries

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base_url)

    def keys(self, *keys: str) -> None:
        """Keys pressed on whatever has the focus (never a click)."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def focused(self) -> WebElement:
        return self.driver.switch_to.active_element

    def focus_style(self) -> dict[str, str] | None:
        style: dict[str, str] | None = self.driver.execute_script(_FOCUS_STYLE)
        return style

    def tab_to(self, label: str, most: int = 80) -> list[dict[str, str] | None]:
        """Press Tab until the focused element's text contains `label`; the focus style of every
        element passed on the way. Fails after `most` presses."""
        seen: list[dict[str, str] | None] = []
        for _ in range(most):
            self.keys(Keys.TAB)
            style = self.focus_style()
            seen.append(style)
            if style is not None and label in style["text"]:
                return seen
        raise AssertionError(f"{label!r} never took the focus in {most} presses of Tab")

    def heading(self) -> str:
        text: str = self.driver.find_element(By.TAG_NAME, "h1").text
        return text

    def wait_for_path(self, start: str) -> None:
        WebDriverWait(self.driver, 30).until(lambda d: self.path.startswith(start))

    def sign_in(self, subject: str = "anna.andersson", role: str = "caseworker") -> None:
        """Through the development sign-in page with the keyboard alone: the role's Swedish name
        typed into its list, the user name into its field, Enter submits."""
        self.open("/logga-in")
        roles = self.driver.find_element(By.ID, "role")
        roles.send_keys(ROLES[role].lower())  # Chromium's type-ahead in a list ignores capitals
        assert Select(roles).first_selected_option.get_attribute("value") == role
        self.driver.find_element(By.ID, "subject").send_keys(subject, Keys.ENTER)
        self.wait_for_path(start_page([role]))  # the role's first page (Min dag for casework)

    def requested_urls(self) -> list[str]:
        """Every URL the browser requested since the last call (documents, scripts, styles,
        form posts, redirects)."""
        urls = []
        for entry in self.network():
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def document_headers(self, path: str) -> dict[str, str]:
        """The response headers of the last document loaded from `path`, as the browser got them."""
        found: dict[str, str] | None = None
        for entry in self.network():
            message = json.loads(entry["message"])["message"]
            if message["method"] != "Network.responseReceived":
                continue
            response = message["params"]["response"]
            if message["params"]["type"] == "Document" and response["url"].endswith(path):
                found = {k.lower(): v for k, v in response["headers"].items()}
        assert found is not None, f"no document {path} in the browser's network log"
        return found

    def storage(self) -> dict[str, int]:
        counts: dict[str, int] = self.driver.execute_script(
            "return {local: localStorage.length, session: sessionStorage.length};"
        )
        return counts

    def screenshot(self, name: str, *, readme: bool = False) -> Path:
        """The whole page as `tests/browser/screenshots/<name>.png`; a README screenshot is
        copied to `docs/screenshots/` when KAA_UPDATE_SCREENSHOTS=1."""
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        width, height = self.driver.execute_script(
            "const e = document.documentElement; return [e.clientWidth, e.scrollHeight];"
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 4000), "scale": 1}},
        )  # fmt: skip
        target.write_bytes(base64.b64decode(shot["data"]))
        if readme and os.environ.get("KAA_UPDATE_SCREENSHOTS") == "1":
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(target, README_SCREENSHOTS / target.name)
        return target


def typed(browser: Browser, field: str, text: str) -> None:
    element = browser.driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def submit(browser: Browser, label: str) -> None:
    """The button with `label` pressed with the keyboard (focused, then Enter); the next page."""
    button = browser.driver.find_element(By.XPATH, f"//button[contains(., '{label}')]")
    button.send_keys(Keys.ENTER)
    WebDriverWait(browser.driver, 30).until(gone(button))


def gone(element: WebElement) -> Callable[[WebDriver], bool]:
    """The page the element was on has been replaced. Chromium answers a question about an
    element of a page being torn down either as stale or, mid-navigation, as an inspector error
    ("Node with given id does not belong to the document"): both mean gone."""

    def check(_: WebDriver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return check


def listening(browser: Browser) -> None:
    """A mark on the page shown now (gone if it reloads) and a note of each live event it hears."""
    browser.driver.execute_script(
        "document.body.dataset.kaaMark = 'kept';"
        "document.body.addEventListener('htmx:sseMessage', function () {"
        f"  {HEARD} = 'yes'; }});"
    )


def heard_live(browser: Browser, poke: Callable[[], object]) -> None:
    """`poke` (a report that changes nothing) until the open page hears a live event: the web's
    subscriber listens from the latest offset once it has its partitions."""
    deadline = time.monotonic() + 60
    while browser.driver.execute_script(f"return {HEARD} || ''") != "yes":
        assert time.monotonic() < deadline, "the page never heard a live event"
        poke()
        time.sleep(2)


def dropout_appears_live(browser: Browser, made: Deployment, warm: str, dropout: str) -> None:
    """On the open Min dag: `warm` reported absent until the page hears a live event, then
    `dropout` reported as having left; the youth appears without a reload (the page's mark kept)."""
    listening(browser)
    with made.client("identify", "0180", "school-reporter") as reporter:
        heard_live(browser, lambda: notify(reporter, warm, "absence"))
        youth = notify(reporter, dropout, "left")
    WebDriverWait(browser.driver, 10).until(
        lambda driver: driver.find_elements(By.ID, f"ungdom-{youth}"),
        "the reported youth did not appear on the open page",
    )
    assert browser.driver.execute_script("return document.body.dataset.kaaMark") == "kept"
