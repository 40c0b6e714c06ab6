"""Letters to youths: a municipality's templates with `{field}` placeholders, checked when they are
saved and filled in for each youth; the rule of skyddad folkbokföring (no address on any letter).

A template is Swedish text in which `{youth_name}`, `{given_name}`, `{address}`, `{caseworker}`,
`{offer}`, `{contact}` and `{date}` stand for what each letter fills in; `{{` and `}}` are a
literal brace. A youth under skyddad folkbokföring (or with sekretessmarkering) gets no address on
any letter: the letter is for forwarding by Skatteverket, which knows where the youth lives, and
says so where the address would have been (DOMAIN.md section 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

FIELDS: dict[str, str] = {
    "youth_name": "the youth's full name",
    "given_name": "the youth's given name",
    "address": "the youth's address (for a protected youth: the forwarding marking, no address)",
    "caseworker": "who signs the letter",
    "offer": "the municipality's offer (the template's own text)",
    "contact": "how to reach the municipality (the template's own text)",
    "date": "the day the letter is made",
}
FORWARDING = "För vidarebefordran via Skatteverket"
MAX_SUBJECT = 200
MAX_BODY = 6000
MAX_PART = 1500
_NAME = re.compile(r"[a-z_]{1,32}")
STANDARD = "first_letter"
PARTS = ("subject", "body", "offer", "contact")


class TemplateError(ValueError):
    """A template that cannot be filled in: the request field (`subject`, `body`...), where
    (line and column, from 1) and why. Never holds the template's text, only a placeholder's name
    when it is a plain identifier."""

    def __init__(self, field: str, line: int, column: int, problem: str) -> None:
        self.field, self.line, self.column, self.problem = field, line, column, problem
        super().__init__(f"{field}: line {line}, column {column}: {problem}")

    @property
    def reason(self) -> str:
        return f"line {self.line}, column {self.column}: {self.problem}"


@dataclass(frozen=True)
class Piece:
    """A run of literal text, or a field (`field` set, `text` empty)."""

    text: str = ""
    field: str | None = None


def _where(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def parse(text: str, part: str = "body", allowed: frozenset[str] | None = None) -> list[Piece]:
    """The template's pieces; `TemplateError` naming the part, the position and the problem for
    an unknown field, an empty or unclosed `{`, or a lone `}`."""
    known = allowed if allowed is not None else frozenset(FIELDS)
    pieces: list[Piece] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise TemplateError(
                part, *_where(text, i), "'}' without a '{' (write '}}' for a brace)"
            )
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = text.find("}", i + 1)
        opened = text.find("{", i + 1)
        if end < 0 or (0 <= opened < end):
            raise TemplateError(
                part, *_where(text, i), "'{' is not closed (write '{{' for a brace)"
            )
        name = text[i + 1 : end]
        if name not in known:
            shown = f"'{name}' " if _NAME.fullmatch(name) else ""
            raise TemplateError(
                part, *_where(text, i), f"unknown field {shown}(known: {', '.join(sorted(known))})"
            )
        if literal:
            pieces.append(Piece("".join(literal)))
            literal = []
        pieces.append(Piece(field=name))
        i = end + 1
    if literal:
        pieces.append(Piece("".join(literal)))
    return pieces


@dataclass(frozen=True)
class Template:
    """One version of a municipality's letter template."""

    name: str
    version: int
    subject: str
    body: str
    offer: str
    contact: str

    def check(self) -> None:
        """Each part parses (the offer and the contact text are the municipality's own, so they
        hold no field but literal braces); `TemplateError` otherwise."""
        for part, text, limit in (
            ("subject", self.subject, MAX_SUBJECT),
            ("body", self.body, MAX_BODY),
            ("offer", self.offer, MAX_PART),
            ("contact", self.contact, MAX_PART),
        ):
            if not text.strip() and part in ("subject", "body"):
                raise TemplateError(part, 1, 1, "must not be empty")
            if len(text) > limit:
                raise TemplateError(part, 1, 1, f"at most {limit} characters")
            allowed: frozenset[str] | None = None if part in ("subject", "body") else frozenset()
            parse(text, part, allowed)


@dataclass(frozen=True)
class Addressee:
    """Who a letter is for, as the population record names them. `protected`: skyddad
    folkbokföring or sekretessmarkering — the address is never used."""

    given_name: str
    family_name: str
    address_lines: tuple[str, ...]
    protected: bool

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @classmethod
    def of(
        cls,
        given_name: str,
        family_name: str,
        street: str | None,
        postal_code: str | None,
        city: str | None,
        protected: bool,
    ) -> Addressee:
        """The addressee; a protected youth's address is dropped here, whatever the record held."""
        if protected:
            return cls(given_name, family_name, (), True)
        town = " ".join(p for p in (postal_code, city) if p)
        return cls(given_name, family_name, tuple(p for p in (street, town) if p), False)

    @property
    def has_address(self) -> bool:
        return self.protected or bool(self.address_lines)


@dataclass(frozen=True)
class Letter:
    """A letter filled in for one youth: the recipient block (name and address, or the forwarding
    marking), the subject and the body; `forwarding` when Skatteverket forwards it."""

    recipient: tuple[str, ...]
    subject: str
    body: str
    forwarding: bool
    made_on: date


def fill(text: str, values: dict[str, str], part: str = "body") -> str:
    return "".join(p.text if p.field is None else values[p.field] for p in parse(text, part))


def letter(template: Template, to: Addressee, caseworker: str, made_on: date) -> Letter:
    """The template filled in for the youth. A protected youth's letter holds no address: the
    recipient block and `{address}` say it goes through Skatteverket."""
    address = FORWARDING if to.protected else "\n".join(to.address_lines)
    values = {
        "youth_name": to.name,
        "given_name": to.given_name,
        "address": address,
        "caseworker": caseworker,
        "offer": fill(template.offer, {}, "offer"),
        "contact": fill(template.contact, {}, "contact"),
        "date": made_on.isoformat(),
    }
    recipient = (to.name, FORWARDING) if to.protected else (to.name, *to.address_lines)
    return Letter(
        recipient=recipient,
        subject=fill(template.subject, values, "subject"),
        body=fill(template.body, values),
        forwarding=to.protected,
        made_on=made_on,
    )


STANDARD_FIRST_LETTER = Template(
    name=STANDARD,
    version=0,
    subject="Kommunen vill gärna prata med dig",
    body=(
        "Hej {given_name}!\n\n"
        "Du får det här brevet eftersom du är under 20 år och inte går i gymnasieskolan just nu, "
        "enligt de uppgifter kommunen har. Kommunen har ett ansvar, det kommunala "
        "aktivitetsansvaret, att hålla kontakt med dig och erbjuda dig stöd att hitta en väg "
        "till studier eller arbete.\n\n"
        "{offer}\n\n"
        "Det är frivilligt att ta emot kommunens erbjudande. Hör gärna av dig till mig så "
        "berättar jag mer, eller om du redan studerar eller arbetar, så att vi vet det.\n\n"
        "{contact}\n\n"
        "Med vänliga hälsningar\n"
        "{caseworker}"
    ),
    offer=(
        "Vi kan till exempel hjälpa dig att hitta en utbildning, en praktikplats eller ett arbete, "
        "och du kan få prata med en studie- och yrkesvägledare."
    ),
    contact="Du når oss genom kommunens kontaktcenter, vardagar 8–16.",
)
