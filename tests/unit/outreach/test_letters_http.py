"""Letters over HTTP before anything is read: a bad template is 422 naming the part and the
position, never echoing the text; a bad template name or page size is refused the same way."""

from __future__ import annotations

from tests.unit.apps import bearer, service_clients


def test_a_bad_template_is_422_naming_the_part_and_position_without_the_text() -> None:
    with service_clients(services=("outreach",)) as clients:
        answer = clients["outreach"].put(
            "/v1/letter-templates/first_letter",
            headers=bearer("coordinator"),
            json={"subject": "Hej", "body": "Hej Åsa Öberg,\nvälkommen {adress}", "offer": ""},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": "body",
            "problem": "line 2, column 11: unknown field 'adress' (known: address, caseworker, "
            "contact, date, given_name, offer, youth_name)",
        }
    ]
    assert "Öberg" not in answer.text


def test_a_template_name_and_a_batch_size_are_bounded() -> None:
    with service_clients(services=("outreach",)) as clients:
        outreach = clients["outreach"]
        named = outreach.get("/v1/letter-templates/Brev%20till%20Åsa", headers=bearer("caseworker"))
        batch = outreach.post(
            "/v1/letter-batches",
            headers=bearer("caseworker"),
            json={"worklist": "first_contact", "limit": 501},
        )
        other_list = outreach.post(
            "/v1/letter-batches", headers=bearer("caseworker"), json={"worklist": "turning_20"}
        )
    assert named.status_code == 422
    assert "Åsa" not in named.text
    assert batch.status_code == 422
    assert other_list.status_code == 422


def test_e_mail_delivery_is_off_unless_an_smtp_server_is_configured() -> None:
    with service_clients(services=("outreach",)) as clients:
        answer = clients["outreach"].post(
            "/v1/letter-batches/5b0c8a43-2a0f-4d47-9a41-3f5bb8f0c1de/email",
            headers=bearer("caseworker"),
        )
    assert answer.status_code == 409, answer.text
    assert answer.json()["errors"] == [
        {"field": "delivery", "problem": "e-mail delivery is not configured"}
    ]
