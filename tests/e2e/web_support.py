"""The web application's e2e tests' shared setup: a web process (development sign-in) in front of a
deployment, a deployment with one youth in scope behind it, and a signed-in user as httpx sees the
pages."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import httpx

from kaa.deployment import Deployment, free_port
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.test_bad_input_and_republication import population_line
from tests.e2e.test_identify import enrolment, number, population, school

TOKEN = re.compile(r'name="csrf" value="([^"]+)"')
SEVENTEEN = date(2008, 9, 14)


def start_web(made: Deployment) -> str:
    """Start a web process with development sign-in in front of `made` (its cookie not Secure, so
    that httpx sends it over http); its address."""
    assert made.platform is not None
    made.platform.env = {**made.platform.env, "KAA_WEB_COOKIE_SECURE": "0"}
    return made.platform.start_web(free_port(), dev_signin=True).url


@contextmanager
def web_with_one_youth(infra: RunningInfra, number: str) -> Iterator[tuple[Deployment, str, str]]:
    """A deployment of 0180 with the youth `number` moved in (in scope when 16-19 and not
    enrolled) and a web process in front of it: (deployment, web address, youth id)."""
    with running(infra) as made:
        line = population_line(number, change="moved_in", effective="2026-01-15")
        asyncio.run(made.publish_feed("population", [line]))
        asyncio.run(made.drained())
        with made.client("register", "0180", "caseworker") as register:
            [row] = register.get("/v1/youths").json()["items"]
        yield made, start_web(made), row["youth_id"]


def enrolled_seventeen_year_olds(made: Deployment, count: int) -> list[str]:
    """`count` new 17-year-olds of 0180 enrolled in upper secondary school (so not in scope), fed
    and read by every service: their personnummer."""
    numbers = [number(SEVENTEEN) for _ in range(count)]
    asyncio.run(made.publish_feed("population", [population(n, SEVENTEEN) for n in numbers]))
    enrolled = [school(n, [enrolment("GY", startDate="2024-08-20")]) for n in numbers]
    asyncio.run(made.publish_feed("ss12000", enrolled))
    asyncio.run(made.drained())
    return numbers


def notify(reporter: httpx.Client, personnummer: str, kind: str) -> str:
    """A school's report (`kind`: left, absence …) of the student today; the youth's id."""
    answer = reporter.post("/v1/school-notifications", json={
        "personnummer": personnummer, "kind": kind, "on": TODAY.isoformat(),
        "school_type": "GY", "school_unit": "unit-1"})  # fmt: skip
    assert answer.status_code == 202, answer.text
    return str(answer.json()["youth_id"])


def signed_in(
    url: str,
    role: str = "caseworker",
    tenant: str = "0180",
    subject: str = "anna",
    timeout: httpx.Timeout | float = 30.0,
) -> httpx.Client:
    """A client signed in through the development sign-in page."""
    client = httpx.Client(base_url=url, timeout=timeout)
    found = TOKEN.search(client.get("/logga-in").text)
    assert found is not None
    signed = client.post("/logga-in", data={"tenant": tenant, "role": role, "subject": subject,
                                            "csrf": found.group(1)})  # fmt: skip
    assert signed.status_code == 303, signed.text
    return client


@dataclass
class Browser:
    """A signed-in user of the web application, as httpx sees its pages; its forms' token is read
    from `token_page` (every signed-in page's sign-out form holds it)."""

    client: httpx.Client
    youth: str = ""
    token_page: str = "/min-dag"

    def form_token(self) -> str:
        page = self.client.get(self.token_page).text
        found = TOKEN.search(page)
        assert found is not None, page
        return found.group(1)

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, response.text
        return html.unescape(response.text)

    def post(self, path: str, data: dict[str, str], status: int = 303) -> httpx.Response:
        response = self.client.post(path, data={"csrf": self.form_token(), **data})
        assert response.status_code == status, response.text
        return response
