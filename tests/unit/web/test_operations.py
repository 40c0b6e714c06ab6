"""The operator's Drift page and the consortium administrator's Konsortiet over a fake platform and
fake services: what each shows in Swedish, that a read that fails is named rather than failing the
page, that the refresh speaks only when the summary changed, and that nothing personal is shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.register.domain.retention import DEFAULT_RETENTION_DAYS
from services.web.adapters.config import WebConfig
from services.web.adapters.platform import Health, Member, Platform, PlatformConfig, Store
from services.web.adapters.platform import Unreadable as PlatformUnreadable
from services.web.adapters.services_api import ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.domain import operations as shown
from services.web.entrypoints.common import Web
from services.web.entrypoints.errors import error_pages
from services.web.entrypoints.operator_pages import operator_routes
from shared.messaging.dead_letters import DeadLetterSummary
from shared.messaging.lag import OutboxLag, PartitionLag
from shared.settings import ServiceSettings
from tests.unit.web.page_matrix.operator import ANSWERS
from tests.unit.web.youth_support import FakeApi

YOUTH = "0c6a3f64-2b1e-4d35-9b0e-3f1c2d4e5a6b"  # the dead event's youth: never on the page
REASON = "kaa.feeds.population.v1[0]@7: record: not a population record (field personnummer)"
BUILT = datetime(2026, 3, 1, 12, tzinfo=UTC)
CATALOGUE: dict[tuple[str, str, str], Any] = {
    ("measures", "GET", "/v1/catalogue"): {"entries": [
        {"code": "internship", "name": "Praktik", "source": "standard"},
        {"code": "bygg", "name": "Byggkollo", "provider": "Byggarna", "source": "consortium"},
    ]},
}  # fmt: skip


class FakePlatform(Platform):
    """The platform as a script: `broken` names the reads that fail."""

    def __init__(self, broken: set[str] | None = None, connect: bool = False) -> None:
        url = "http://connect.invalid" if connect else None
        super().__init__(WebConfig(), PlatformConfig(connect_url=url))
        self.broken = broken or set()
        self.upgrading = False

    def _check(self, what: str) -> None:
        if what in self.broken:
            raise PlatformUnreadable(what)

    def settings(self) -> ServiceSettings:
        """The platform's settings as written here, not read from the machine's environment
        (the development infrastructure's, present or not)."""
        self._check("settings")
        return ServiceSettings(
            kafka_bootstrap_servers="127.0.0.1:9", database_url="postgresql://kaa@127.0.0.1:9/kaa"
        )

    async def health(self) -> list[Health]:
        register = ["register upgrade: rebuilding (3 of 9 events read)"] if self.upgrading else []
        return [Health("identify", "ok"), Health("outreach", "unreachable"),
                Health("register", "degraded" if register else "ok", register)]  # fmt: skip

    async def consumer_lag(self) -> list[PartitionLag]:
        self._check("lag")
        return [PartitionLag("register", "kaa.register", "kaa.identify.events.v1", 0, 40, 42),
                PartitionLag("register", "kaa.register", "kaa.identify.events.v1", 1, None, 3)]  # fmt: skip

    async def dead_letters(self) -> list[DeadLetterSummary]:
        self._check("dead-letters")
        return [DeadLetterSummary("kaa.feeds.population.v1.dlq", 1, [REASON]),
                DeadLetterSummary("kaa.identify.events.v1.dlq", 0, [])]  # fmt: skip

    async def store(self) -> Store:
        self._check("store")
        return Store([OutboxLag("identify", 614, 600, 14)], 3, BUILT,
                     {"0180": (BUILT, 4)})  # fmt: skip

    async def connectors(self, token: str, tenant: str) -> dict[str, Any] | None:
        if self.own.connect_url is None:
            return None
        self._check("connectors")
        return {"organisers": [{"tenant": "0180", "organiser": "org-1", "name": "Skolhuvudman AB",
                                "state": "failing", "last_complete_sync": None,
                                "lag_seconds": None, "error": {"message": "http 503",
                                                               "in_a_row": 3}}]}  # fmt: skip

    def members(self) -> list[Member]:
        self._check("settings")
        return [Member("0180", "Stockholm", {"adult_education_keeps_in_scope": False}, 1095),
                Member("0181", "Södertälje", {}, None)]  # fmt: skip

    @property
    def consortium_name(self) -> str | None:
        return "Södra konsortiet"


class Sessions:
    def __init__(self, session: Session | None) -> None:
        self.session = session
        self.touched: list[bool] = []

    async def get(self, cookie: str, touch: bool = True) -> Session | None:
        self.touched.append(touch)
        return self.session


def session(*roles: str) -> Session:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return Session("olle", "0180", roles, "token", "csrf", now, now)


def site(
    platform: FakePlatform, roles: tuple[str, ...] = ("operator",), api: FakeApi | None = None
) -> tuple[TestClient, Sessions]:
    api = api or FakeApi()
    api.answers = {**ANSWERS, **CATALOGUE, **api.answers}
    web = Web(config=WebConfig(cookie_secure=False), api=ServicesApi.__new__(ServicesApi),
              store=None, token_secret="secret", tenants=["0180"])  # fmt: skip
    web.api = api  # type: ignore[assignment]
    sessions = Sessions(session(*roles) if roles else None)
    web.store = sessions  # type: ignore[assignment]
    app = FastAPI()
    for exception, handler in error_pages().items():
        app.add_exception_handler(exception, handler)
    app.include_router(operator_routes(web, platform))
    made = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    made.cookies.set(web.cookie, "cookie")
    return made, sessions


def test_the_default_retention_is_the_registers() -> None:
    assert shown.DEFAULT_RETENTION_DAYS == DEFAULT_RETENTION_DAYS


def test_drift_shows_health_lag_outboxes_dead_letters_dead_events_rebuild_and_retention() -> None:
    page, _ = site(FakePlatform())
    answer = page.get("/drift")
    assert answer.status_code == 200
    text = answer.text
    for said in ("<h1 class=\"govuk-heading-l\">Drift</h1>", "Uppsökande", "Svarar inte",
                 "Partitioner som ligger efter", "ingen ännu",
                 "Utkorgarna", ">14<", REASON, "ContactRecorded", "contact_id: unknown contact",
                 "Parkerad, väntar på återspelning", "Registrets version", "3, byggd 2026-03-01 kl. 13.00",
                 "0180 Stockholm", "Gallringen körs var 24 tim", "2026-03-01 kl. 13.00",
                 "Kopplingstjänsten körs inte", 'role="status" aria-live="polite"',
                 'hx-trigger="every 10s"'):  # fmt: skip
        assert said in text, said
    assert YOUTH not in text  # the dead event's youth is not shown
    lag = text.split('id="efterslapning"', 1)[1].split("</table>", 1)[0]
    assert "kaa.register" in lag
    assert "<strong>5</strong>" in lag  # the group's total: 2 + 3
    assert "Uppsökande: svarar inte" in text
    assert "1 meddelande i felköerna" in text


def test_a_read_that_fails_is_named_and_the_rest_is_shown() -> None:
    api = FakeApi()
    api.answers[("register", "GET", "/v1/dead-events")] = Unavailable("register")
    page, _ = site(
        FakePlatform({"lag", "dead-letters", "store", "connectors"}, connect=True), api=api
    )
    answer = page.get("/drift")
    assert answer.status_code == 200
    for said in ("Eftersläpningen i Kafka kunde inte läsas", "Felköerna kunde inte läsas",
                 "Registrets ej tillämpade händelser kunde inte läsas",
                 "Kopplingstjänsten kunde inte läsas", "Gallringen kunde inte läsas",
                 "Uppsökande"):  # fmt: skip
        assert said in answer.text, said


def test_the_organisers_status_when_the_connect_service_runs() -> None:
    page, _ = site(FakePlatform(connect=True))
    text = page.get("/drift").text
    assert "Skolhuvudman AB (kommun 0180)" in text
    assert "Misslyckas" in text
    assert "3 i rad" in text
    assert "1 huvudman vars synkronisering misslyckas" in text


def test_the_register_rebuilding_is_said() -> None:
    platform = FakePlatform()
    platform.upgrading = True
    text = site(platform)[0].get("/drift").text
    assert 'Ja: <span lang="en">rebuilding (3 of 9 events read)</span>' in text


def test_the_refresh_speaks_only_when_the_summary_changed_and_keeps_nobody_signed_in() -> None:
    page, sessions = site(FakePlatform())
    first = page.get("/drift/innehall", headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert "<h1" not in first.text
    assert 'hx-swap-oob="innerHTML"' in first.text
    key = first.text.split("/drift/innehall?fore=", 1)[1].split('"', 1)[0]
    same = page.get(f"/drift/innehall?fore={key}")
    assert '<p id="drift-status" hx-swap-oob="innerHTML"></p>' in same.text
    other = page.get("/drift/innehall?fore=0")
    assert "Läget har ändrats: Uppsökande: svarar inte" in other.text
    assert sessions.touched == [False, False, False]


def test_the_refresh_without_a_session_moves_the_page_to_sign_in() -> None:
    page, _ = site(FakePlatform(), roles=())
    assert page.get("/drift/innehall", headers={"HX-Request": "true"}).headers["HX-Redirect"] == (
        "/logga-in"
    )
    assert page.get("/drift/innehall").headers["location"] == "/logga-in"


def test_drift_is_the_operators_and_konsortiet_the_administrators() -> None:
    assert site(FakePlatform(), ("caseworker",))[0].get("/drift").status_code == 403
    assert site(FakePlatform(), ("consortium-admin",))[0].get("/drift").status_code == 403
    assert site(FakePlatform(), ("operator",))[0].get("/konsortium").status_code == 403
    forbidden = site(FakePlatform(), ("caseworker",))[0].get("/drift/innehall")
    assert forbidden.status_code == 403
    assert "Du har inte behörighet" in forbidden.text
    both = site(FakePlatform(), ("operator", "consortium-admin"))[0]
    assert both.get("/konsortium").status_code == 200
    assert both.get("/drift").status_code == 200


def test_konsortiet_shows_members_policies_retention_and_the_shared_catalogue_first() -> None:
    text = site(FakePlatform(), ("consortium-admin",))[0].get("/konsortium").text
    for said in ("Konsortiet: Södra konsortiet", "Stockholm", "Södertälje",
                 "Vuxenutbildning håller kvar i aktivitetsansvaret: Nej", "1095", "730 (standard)",
                 "Nationella regler, utan avvikelser", "1 gemensam insats i konsortiet",
                 "Konsortiets gemensamma", "Byggarna"):  # fmt: skip
        assert said in text, said
    assert text.index("Byggkollo") < text.index("Praktik")


def test_konsortiet_without_settings_or_measures_says_so() -> None:
    api = FakeApi()
    api.answers[("measures", "GET", "/v1/catalogue")] = Unavailable("measures")
    made, _ = site(FakePlatform({"settings"}), ("consortium-admin",), api)
    text = made.get("/konsortium").text
    assert "inställningar kunde inte läsas" in text
    assert "katalogen kunde inte visas" in text


def test_the_announcement_and_the_words() -> None:
    assert shown.duration(86400) == "24 tim"
    assert shown.duration(3 * 86400) == "3 dygn"
    assert shown.duration(59) == "59 s"
    assert shown.duration(None) == "–"
    assert shown.when("2026-07-01T10:00:00+00:00") == "2026-07-01 kl. 12.00"
    row = shown.dead_event_shown({"event_id": "e", "event_type": "T", "reason": "r",
                                  "discarded_at": BUILT, "discarded_why": "Anna said so"})  # fmt: skip
    assert row.state.startswith("Avfärdad")
    assert "Anna" not in repr(row)
    assert shown.policy_shown({"feed_sources": ["population"]}) == [
        ("Källor som väntas in", "population")
    ]
