"""Letter templates: which text is a template (fields known, braces balanced, the error naming the
part and the position without the text), how a letter is filled in, and that a protected youth's
letter never holds an address; the PDF holds what the letters say."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

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
    assert "Åsa" not in str(refused.value) and "1234" not in str(refused.value)
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
    assert HIDDEN.address_lines == () and HIDDEN.has_address


def test_a_youth_without_an_address_cannot_be_written_to() -> None:
    assert not Addressee.of("Bo", "Ek", None, None, None, protected=False).has_address


def test_the_pdf_holds_each_letter_and_marks_the_forwarded_one() -> None:
    made = [letter(STANDARD_FIRST_LETTER, who, "Anna Handläggare", DAY) for who in (ASA, HIDDEN)]
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(letters_pdf(made))).pages]
    text = "\n".join(pages)
    assert text.count(STANDARD_FIRST_LETTER.subject) == 2
    assert "Storgatan 1" in pages[0] and "Åsa Öberg" in pages[0]
    assert FORWARDING in pages[1] and "Hemliga" not in text
    assert "Anna Handläggare" in text
