"""The school's pages: the form and the file sent to identify's `POST /v1/school-notifications`
with the reporter's token; the answer in Swedish (accepted, already reported, refused with the
field and the reason); a result per row of a file; the personnummer never shown but masked."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.web.adapters.services_api import Refused, Unavailable
from services.web.entrypoints.school_pages import school_routes
from tests.unit.web.site_support import page_client
from tests.unit.web.youth_support import CSRF, user

NOTIFY = "/v1/school-notifications"
ONE, TWO, THREE = "200809141377", "200809145824", "200809148679"
HEADER = "personnummer;händelse;datum;skolform;skolenhet;huvudman"
FORM = {"csrf": CSRF, "personnummer": "20080914-1377", "kind": "left", "on": "2026-02-27",
        "school_type": "GY", "school_unit": "enhet-1"}  # fmt: skip


class Identify:
    """Identify as it answers a reporter: a notification id seen before (with the same content)
    is a repeat; a day in `future` is refused as identify refuses it; `down` does not answer."""

    def __init__(self, future: str = "2099-01-01", down: str = "") -> None:
        self.future, self.down = future, down
        self.seen: dict[str, dict[str, Any]] = {}
        self.bodies: list[dict[str, Any]] = []

    async def call(
        self, service: str, method: str, path: str, token: str, tenant: str, *,
        params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
    ) -> Any:  # fmt: skip
        assert (service, method, path) == ("identify", "POST", NOTIFY)
        assert body is not None
        self.bodies.append(body)
        if body["on"] == self.future:
            raise Refused(422, "invalid", [{"field": "body.on", "problem": "is in the future"}])
        if body["personnummer"] == self.down:
            raise Unavailable("identify")
        repeat = body["notification_id"] in self.seen
        self.seen[body["notification_id"]] = body
        return {"notification_id": body["notification_id"], "youth_id": "0c6a3f64-2b1e-4d35-"
                "9b0e-3f1c2d4e5a6b", "repeat": repeat}  # fmt: skip


def client(api: Identify, role: str = "school-reporter") -> TestClient:
    return page_client(api, school_routes, user(role))


def test_a_report_from_the_form_is_accepted_then_said_to_be_already_reported() -> None:
    api = Identify()
    web = client(api)
    assert 'action="/skola"' in web.get("/skola").text
    first = web.post("/skola", data=FORM)
    assert first.status_code == 200
    assert "Anmälan är mottagen av hemkommunen." in first.text
    assert "20080914-****" in first.text
    assert "1377" not in first.text
    assert first.headers["cache-control"] == "no-store"
    [sent] = api.bodies
    assert {k: v for k, v in sent.items() if k != "notification_id"} == {
        "personnummer": ONE, "kind": "left", "on": "2026-02-27", "school_type": "GY",
        "school_unit": "enhet-1"}  # fmt: skip
    again = web.post("/skola", data=FORM)
    assert "Anmälan var redan gjord: inget nytt registrerades." in again.text
    assert api.bodies[1]["notification_id"] == sent["notification_id"]


def test_a_form_refused_names_the_fields_in_swedish_and_never_shows_the_number() -> None:
    api = Identify()
    page = client(api).post("/skola", data={**FORM, "personnummer": "20080914-1378",
                                            "kind": "", "school_unit": "=1+1"})  # fmt: skip
    assert page.status_code == 422
    for said in ("Personnumret stämmer inte: kontrollsiffran är fel", "Vad som hänt saknas",
                 "Skolenhet börjar med =, +, - eller @"):  # fmt: skip
        assert said in page.text
    assert 'href="#skola-personnummer"' in page.text
    assert 'id="skola-kind-fel"' in page.text
    assert "1378" not in page.text
    assert "=1+1" in page.text
    assert api.bodies == []


def test_identifys_refusal_is_said_next_to_its_field() -> None:
    page = client(Identify()).post("/skola", data={**FORM, "on": "2099-01-01"})
    assert page.status_code == 422
    assert "Datum får inte ligga i framtiden" in page.text
    assert 'id="skola-on-fel"' in page.text


def test_the_pages_are_the_school_reporters_only() -> None:
    api = Identify()
    web = client(api, "caseworker")
    for path in ("/skola", "/skola/fil", "/skola/mall.csv"):
        page = web.get(path)
        assert page.status_code == 403
        assert "Du har inte behörighet" in page.text
    assert web.post("/skola", data=FORM).status_code == 403
    assert api.bodies == []


def upload(web: TestClient, text: str) -> Any:
    return web.post("/skola/fil", data={"csrf": CSRF},
                    files={"fil": ("elever.csv", text.encode("utf-8"), "text/csv")})  # fmt: skip


def test_a_file_gives_a_result_per_row_and_the_same_file_again_only_duplicates() -> None:
    api = Identify(down=THREE)
    web = client(api)
    rows = "\n".join([HEADER, f"{ONE};slutade;2026-02-27;GY;enhet-1;",
                      "200809141378;slutade;2026-02-27;GY;enhet-1;",
                      f"{TWO};frånvaro;2099-01-01;GY;enhet-1;",
                      f"{ONE};Slutade;2026-02-27;gy;enhet-1;2120000142",
                      f"{THREE};började;2026-02-27;GY;enhet-1;"])  # fmt: skip
    page = upload(web, rows)
    assert page.status_code == 200, page.text
    outcomes = {n: page.text.split(f'id="rad-{n}" data-kaa-utfall="')[1].split('"')[0]
                for n in range(2, 7)}  # fmt: skip
    assert outcomes == {2: "accepted", 3: "refused", 4: "refused", 5: "duplicate", 6: "refused"}
    assert "Personnumret stämmer inte: kontrollsiffran är fel" in page.text
    assert "Datum får inte ligga i framtiden" in page.text
    assert "Samma anmälan som rad 2 i filen" in page.text
    assert "Tjänsten svarade inte" in page.text
    assert (
        "5 rader lästes: <strong>1 mottagna</strong>, 1 redan anmälda, 3 inte mottagna" in page.text
    )
    for number in (ONE, TWO, THREE, "200809141378", "20080914"):
        assert number not in page.text
    assert len(api.bodies) == 3  # the bad row and the duplicate never sent

    api.down = ""
    again = upload(web, rows)
    assert again.text.count('data-kaa-utfall="duplicate"') == 2  # rows 2 and 5
    assert again.text.count('data-kaa-utfall="accepted"') == 1  # row 6, identify answers now


def test_pasted_rows_are_read_like_a_file() -> None:
    page = client(Identify()).post("/skola/fil", data={
        "csrf": CSRF, "rader": f"{HEADER}\n{ONE};slutade;2026-02-27;GY;enhet-1;"})  # fmt: skip
    assert page.text.count('data-kaa-utfall="accepted"') == 1


def test_a_file_that_cannot_be_read_is_said_next_to_the_upload_field() -> None:
    api = Identify()
    web = client(api)
    nothing = web.post("/skola/fil", data={"csrf": CSRF})
    assert nothing.status_code == 422
    assert "Välj en fil att ladda upp" in nothing.text
    latin = web.post("/skola/fil", data={"csrf": CSRF},
                     files={"fil": ("x.csv", "händelse".encode("cp1252"), "text/csv")})  # fmt: skip
    assert latin.status_code == 422
    assert "Filen är inte sparad som UTF-8" in latin.text
    assert 'href="#fil"' in latin.text
    assert 'id="fil-fel"' in latin.text
    big = web.post("/skola/fil", content=b"x", headers={"content-length": "2000000",
                                                        "content-type": "text/csv"})  # fmt: skip
    assert big.status_code == 413
    assert "Filen är för stor: högst 1 MB" in big.text
    assert web.post("/skola/fil", files={"fil": ("x.csv", b"a", "text/csv")}).status_code == 403
    assert api.bodies == []


def test_the_template_downloads_as_a_csv_attachment_and_the_format_is_on_the_page() -> None:
    web = client(Identify())
    template = web.get("/skola/mall.csv")
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    assert template.content.decode("utf-8-sig").strip() == HEADER
    page = web.get("/skola/fil").text
    for said in ('href="/skola/mall.csv"', "UTF-8", "Semikolon", "<code>händelse</code>",
                 "Anpassad gymnasieskola", 'enctype="multipart/form-data"'):  # fmt: skip
        assert said in page
