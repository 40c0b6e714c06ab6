"""Letter templates: which text is a template (fields known, braces balanced, the error naming the
part and the position without the text), how a letter is filled in, and that a protected youth's
letter never holds an address; the PDF holds what the letters say."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from services.outreach.adapters import identities
from services.outreach.adapters.letter_pdf import letters_pdf
from services.outreach.domain.letters import (
    FORWARDING,
    STANDARD_FIRST_LETTER,
    Addressee,
    Piece,
    Template,
    TemplateError,
    letter,
    parse,
)
from shared.contracts.events import PersonalDetailsRecorded, YouthIdentified

DAY = date(2026, 3, 2)
ASA = Addressee.of("Åsa", "Öberg", "Storgatan 1", "123 45", "Ankeby", protected=False)
HIDDEN = Addressee.of("Li", "Wu", "Hemliga vägen 9", "999 99", "Gömby", protected=True)


def template(body: str, subject: str = "Hej", offer: str = "", contact: str = "") -> Template:
    return Template("t", 1, subject, body, offer, contact)


def test_a_template_is_literal_text_and_fields() -> None:
    assert parse("Hej {given_name}! {{x}}") == [
        Piece("Hej "), Piece(field="given_name"), Piece("! {x}"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "column", "problem"),
    [
        ("Hej {namn}!", 1, 5, "unknown field 'namn'"),
        ("Hej\nDu {given_name} och {adress}", 2, 21, "unknown field 'adress'"),
        ("Hej {given_name", 1, 5, "'{' is not closed"),
        ("Hej {given_{name}", 1, 5, "'{' is not closed"),
        ("Hej }", 1, 5, "'}' without a '{'"),
        ("{}", 1, 1, "unknown field"),
    ],
)
def test_a_bad_template_is_refused_naming_the_position(
    text: str, line: int, column: int, problem: str
) -> None:
    with pytest.raises(TemplateError) as refused:
        parse(text)
    assert (refused.value.field, refused.value.line, refused.value.column) == ("body", line, column)
    assert problem in refused.value.reason


def test_a_refusal_never_echoes_text_that_is_not_a_field_name() -> None:
    with pytest.raises(TemplateError) as refused:
        parse("Hej {Åsa Öberg 19990101-1234}")
    assert "Åsa" not in str(refused.value)
    assert "1234" not in str(refused.value)
    assert "unknown field (known:" in refused.value.reason


def test_a_template_is_checked_part_by_part() -> None:
    with pytest.raises(TemplateError) as refused:
        template("Hej", subject="Till {youth}").check()
    assert refused.value.field == "subject"
    with pytest.raises(TemplateError) as refused:
        template("Hej", offer="Vi erbjuder {caseworker}").check()
    assert refused.value.field == "offer"  # the offer is the municipality's own text: no fields
    with pytest.raises(TemplateError) as refused:
        template("  ").check()
    assert (refused.value.field, refused.value.reason) == (
        "body",
        "line 1, column 1: must not be empty",
    )
    STANDARD_FIRST_LETTER.check()


def test_a_letter_fills_in_every_field() -> None:
    body = "{youth_name}\n{address}\n{given_name}: {offer} {contact} /{caseworker} {date}"
    made = letter(template(body, offer="Praktik {{gratis}}", contact="Ring 08"), ASA, "Anna", DAY)
    assert made.body == (
        "Åsa Öberg\nStorgatan 1\n123 45 Ankeby\nÅsa: Praktik {gratis} Ring 08 /Anna 2026-03-02"
    )
    assert made.recipient == ("Åsa Öberg", "Storgatan 1", "123 45 Ankeby")
    assert not made.forwarding


def test_a_protected_youths_letter_has_no_address_anywhere() -> None:
    made = letter(
        template("Till {youth_name}, {address}", subject="{address}"), HIDDEN, "Anna", DAY
    )
    text = "\n".join([*made.recipient, made.subject, made.body])
    for part in ("Hemliga", "999 99", "Gömby"):
        assert part not in text
    assert made.forwarding
    assert made.recipient == ("Li Wu", FORWARDING)
    assert made.body == f"Till Li Wu, {FORWARDING}"
    assert HIDDEN.address_lines == ()
    assert HIDDEN.has_address


def test_a_youth_without_an_address_cannot_be_written_to() -> None:
    assert not Addressee.of("Bo", "Ek", None, None, None, protected=False).has_address


def test_the_pdf_holds_each_letter_and_marks_the_forwarded_one() -> None:
    made = [letter(STANDARD_FIRST_LETTER, who, "Anna Handläggare", DAY) for who in (ASA, HIDDEN)]
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(letters_pdf(made))).pages]
    text = "\n".join(pages)
    assert text.count(STANDARD_FIRST_LETTER.subject) == 2
    assert "Storgatan 1" in pages[0]
    assert "Åsa Öberg" in pages[0]
    assert FORWARDING in pages[1]
    assert "Hemliga" not in text
    assert "Anna Handläggare" in text


def test_the_sealed_details_identify_published_become_rows_of_the_letter_identities() -> None:
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    common = {"tenant": "0180", "occurred_at": now, "recorded_at": now, "actor": "system:identify"}

    def event(kind: type[Any], youth: uuid.UUID, **fields: Any) -> Any:
        return kind(event_id=uuid.uuid4(), youth_id=youth, correlation_id=uuid.uuid4(),
                    **common, **fields)  # fmt: skip

    named, unnamed, moved = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    episode = {"scope_episode_id": uuid.uuid4(), "entered_on": date(2026, 1, 15),
               "scope_ends_on": date(2027, 5, 1), "rule_version": "r", "facts": {}}  # fmt: skip
    messages = [
        event(YouthIdentified, named, personal_details="kaa1.sealed-a", **episode),
        event(YouthIdentified, unnamed, personal_details=None, **episode),
        event(PersonalDetailsRecorded, moved, personal_details="kaa1.sealed-b"),
    ]
    [(statement, rows)] = identities.identify_rows("outreach")(messages)
    assert rows == [("0180", named, "kaa1.sealed-a", now), ("0180", moved, "kaa1.sealed-b", now)]
    assert "letter_identities" in statement.as_string(None)
    assert identities.identify_rows("outreach")(messages[1:2]) == []
