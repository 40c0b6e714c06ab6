"""The coordinator's SCB, data-quality and export pages over a fake of the services: what each
asks, what it shows in Swedish, and what a file holds and is called."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import openpyxl

from services.web.adapters.services_api import Refused
from tests.unit.web.figures_support import coordinator_client
from tests.unit.web.page_matrix.scb import FIGURES, REPORT
from tests.unit.web.youth_support import CSRF, YOUTH, FakeApi, user

HISTORY: dict[str, Any] = {
    "tenant": "0180", "period": "2025H2", "needs_resubmission": True,
    "register_changed_since_last_export": True,
    "exports": [
        {"sequence": 1, "recorded_at": "2026-01-10T09:00:00+00:00", "actor": "user:sam",
         "content_sha256": "a" * 64, "youths": 3, "forced": False, "errors": 0, "warnings": 0,
         "superseded": True, "event_range": {"positions": {"t/0": 5}, "tenant_events": 5,
                                             "last_recorded_at": "2026-01-09T12:00:00+00:00"}},
        {"sequence": 2, "recorded_at": "2026-01-20T09:00:00+00:00", "actor": "user:sam",
         "content_sha256": "b" * 64, "youths": 3, "forced": True, "errors": 1, "warnings": 0,
         "superseded": False, "event_range": {"positions": {"t/0": 7}, "tenant_events": 7,
                                              "last_recorded_at": None}},
    ],
}  # fmt: skip


def scb_api() -> FakeApi:
    api = FakeApi()
    api.answers[("register", "GET", "/v1/scb/report")] = REPORT
    api.answers[("register", "GET", "/v1/scb/exports")] = HISTORY
    return api


def test_the_check_report_links_each_error_to_the_youth_it_concerns_in_swedish() -> None:
    api = scb_api()
    page = coordinator_client(api).get("/scb/kontroll", params={"period": "2025H2"})
    assert page.status_code == 200
    assert f'href="/ungdomar/{YOUTH}"' in page.text
    assert "Ingen uppgift från folkbokföringen har namngett ungdomen" in page.text
    assert "no population record" not in page.text
    assert "12 händelser" in page.text  # the event range of the file as it would be
    asked = {(p, (q or {}).get("period")) for _, _, p, q, _ in api.calls}
    assert asked == {("/v1/scb/report", "2025H2"), ("/v1/scb/exports", "2025H2")}


def test_the_history_shows_which_file_stands_and_warns_when_a_closed_period_must_be_resent() -> (
    None
):
    page = coordinator_client(scb_api()).get("/scb", params={"period": "2025H2"})
    assert page.status_code == 200
    assert "Filen behöver skickas in igen" in page.text
    assert page.text.index('data-kaa-sha256="' + "b" * 64) < page.text.index("a" * 16)
    assert "Ersatt" in page.text
    assert "Gäller" in page.text
    assert "Skapad trots 1 fel" in page.text
    assert "7 händelser" in page.text


def test_a_period_not_offered_falls_back_to_the_last_closed_half_year() -> None:
    api = scb_api()
    coordinator_client(api).get("/scb", params={"period": "2030H1"})
    assert [q for _, _, _, q, _ in api.calls] == [{"period": "2025H2"}]


def test_the_file_is_the_answer_to_a_post_with_its_hash_and_no_personal_data_in_its_name() -> None:
    api = scb_api()
    content = b"#KAA-SCB;1;0180;2025H2;1\n1;200803142389;2025-09-01;01;GY\n"
    api.answers[("register", "POST", "/v1/scb/exports")] = content
    made = coordinator_client(api).post("/scb/export", data={"csrf": CSRF, "period": "2025H2"})
    assert made.status_code == 200
    assert made.content == content
    assert made.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest()
    assert made.headers["content-disposition"] == 'attachment; filename="kaa-scb-0180-2025H2.txt"'
    assert made.headers["cache-control"] == "no-store"
    assert [q for _, m, _, q, _ in api.calls if m == "POST"] == [{"period": "2025H2"}]


def test_a_refused_export_shows_the_check_report_and_a_forced_one_says_so() -> None:
    api = scb_api()
    api.answers[("register", "POST", "/v1/scb/exports")] = Refused(422, "the report has 1 errors")
    web = coordinator_client(api)
    refused = web.post("/scb/export", data={"csrf": CSRF, "period": "2025H2"})
    assert refused.status_code == 422
    assert "Filen skapades inte: kontrollen hittade 1 fel" in refused.text
    assert 'href="#scb-force"' in refused.text
    assert f'href="/ungdomar/{YOUTH}"' in refused.text
    web.post("/scb/export", data={"csrf": CSRF, "period": "2025H2", "force": "ja"})
    posted = [q for _, m, _, q, _ in api.calls if m == "POST"]
    assert posted[-1] == {"period": "2025H2", "force": "true"}


def quality_api() -> FakeApi:
    api = FakeApi()
    api.answers[("register", "GET", "/v1/quality")] = FIGURES
    api.answers[("outreach", "GET", "/v1/tenant-rules")] = {
        "rules": {"first_contact_working_days": 10}
    }
    return api


def test_the_quality_page_costs_one_call_per_half_year_and_one_for_the_limit() -> None:
    api = quality_api()
    page = coordinator_client(api).get("/datakvalitet")
    assert page.status_code == 200
    periods = sorted(
        str((q or {}).get("period")) for _, _, p, q, _ in api.calls if p == "/v1/quality"
    )
    assert periods == ["2024H2", "2025H1", "2025H2", "2026H1"]
    assert len(api.calls) == 5


def test_each_chart_is_an_image_named_by_its_title_and_described_with_its_figures() -> None:
    page = coordinator_client(quality_api()).get("/datakvalitet").text
    charts = re.findall(r'<svg[^>]*role="img"[^>]*aria-labelledby="([^"]+)"', page)
    assert len(charts) == 6  # five figures over the half-years and the distribution
    for labelled in charts:
        title, desc = labelled.split()
        assert f'<title id="{title}">' in page
        assert f'<desc id="{desc}">' in page
    assert "jan–jun 2026: 67 %" in page  # the share in the description
    assert "2 första kontaktförsök. 1 inom gränsen på 10 arbetsdagar, 1 över den." in page
    assert "<script" not in page.split("</head>")[1]  # drawn on the server, no script


def test_the_quality_workbook_holds_the_same_rows_as_the_page() -> None:
    web = coordinator_client(quality_api())
    page = web.get("/datakvalitet").text
    table = page.split("data-kaa-quality-table")[1].split("</table>")[0]
    shown = [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
             for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]  # fmt: skip
    answer = web.get("/datakvalitet/export", params={"format": "xlsx"})
    assert answer.headers["cache-control"] == "no-store"
    assert (
        'filename="kaa-datakvalitet-0180-2026-03-02.xlsx"' in answer.headers["content-disposition"]
    )
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = [[_as_page(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows == shown
    assert rows[4][1:] == ["66,7"] * 4
    assert rows[6][1:] == [""] * 4


def _as_page(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "date"):
        return str(value.date().isoformat())
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else str(value)


def test_a_whole_worklist_is_exported_page_by_page_with_names_in_batches() -> None:
    api = FakeApi()
    items = [{"youth_id": str(YOUTH), "since": "2026-02-02", "assignee": None,
              "why": {"code": "new_in_scope"}, "clock": None}] * 600  # fmt: skip
    pages = iter([{"items": items[:500], "total": 600}, {"items": items[500:], "total": 600}])
    api.answers[("outreach", "GET", "/v1/worklists/first_contact")] = None
    api.call = _scripted(api, {"/v1/worklists/first_contact": pages})  # type: ignore[method-assign]
    made = coordinator_client(api).post("/datakvalitet/listor/arbetslista", data={
        "csrf": CSRF, "lista": "first_contact", "format": "csv", "namn": "ja"})  # fmt: skip
    assert made.status_code == 200
    assert made.content.startswith(b"\xef\xbb\xbfUngdomens id;Namn;Orsak;")
    lines = made.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 601
    assert lines[1].startswith(f"{YOUTH};Alva Olsson, 17 år;Nytt i")
    assert made.headers["cache-control"] == "no-store"
    assert (
        "kaa-arbetslista-forsta-kontakt-0180-2026-03-02.csv" in made.headers["content-disposition"]
    )
    offsets = [(q or {})["offset"] for _, _, p, q, _ in api.calls if p.startswith("/v1/worklists")]
    batches = [
        len((b or {})["youth_ids"]) for _, _, p, _, b in api.calls if p == "/v1/identities/batch"
    ]
    assert offsets == [0, 500]
    assert batches == [100] * 6


def _scripted(api: FakeApi, pages: dict[str, Any]) -> Any:
    original = api.call

    async def call(service: str, method: str, path: str, token: str, tenant: str, **kw: Any) -> Any:
        if path in pages:
            api.calls.append((service, method, path, kw.get("params"), kw.get("body")))
            return next(pages[path])
        return await original(service, method, path, token, tenant, **kw)

    return call


def test_a_register_list_passes_only_its_filters_and_reads_no_names_unless_asked() -> None:
    api = FakeApi()
    api.answers[("register", "GET", "/v1/youths")] = {"total": 1, "items": [{
        "youth_id": str(YOUTH), "status": "in_scope", "scope_episode_id": str(YOUTH),
        "entered_on": "2026-01-05", "scope_ends_on": "2028-01-05", "left_on": None,
        "left_reason": None, "rule_version": "kaa-2018-07-01", "contacts": 2, "measures": 0}]}  # fmt: skip
    made = coordinator_client(api).post("/datakvalitet/listor/register", data={
        "csrf": CSRF, "status": "in_scope", "occupation": "", "contacted": "false",
        "format": "xlsx", "personnummer": "200803022383"})  # fmt: skip
    assert made.status_code == 200
    [(_, _, _, params, _)] = api.calls
    assert params == {"status": "in_scope", "contacted": "false", "limit": 1000, "offset": 0}
    rows = list(openpyxl.load_workbook(io.BytesIO(made.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:3] == ("Ungdomens id", "Status", "I aktivitetsansvaret från")
    assert rows[1][:2] == (str(YOUTH), "I aktivitetsansvaret")
    assert rows[1][-2:] == (2, 0)
    assert not any(p == "/v1/identities/batch" for _, _, p, _, _ in api.calls)


def test_an_export_form_without_a_choice_is_shown_again_with_the_error_by_its_field() -> None:
    api = FakeApi()
    page = coordinator_client(api).post("/datakvalitet/listor/arbetslista",
                                        data={"csrf": CSRF, "lista": "nope"})  # fmt: skip
    assert page.status_code == 422
    assert 'href="#arbetslista-lista"' in page.text
    assert 'href="#arbetslista-format"' in page.text
    assert "nope" not in page.text
    assert api.calls == []


def test_a_caseworker_may_not_use_the_coordinators_figures() -> None:
    api = quality_api()
    web = coordinator_client(api, user("caseworker"))
    for path in ("/datakvalitet", "/datakvalitet/export", "/datakvalitet/listor"):
        assert web.get(path).status_code == 403, path
    assert api.calls == []
