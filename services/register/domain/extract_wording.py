"""The youth's own extract (GDPR art. 15) in plain Swedish: the words for the register's codes,
dates as a youth reads them ("1 mars 2026"), and the retention rule as a sentence.

Pure: the code lists shipped with kaa give the labels of occupations, measure types and end
reasons (a municipality's own measure type, unknown to the list, is shown by its code).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.register.domain.period import half_year_end
from shared.codelists import code_list

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
          "september", "oktober", "november", "december")  # fmt: skip

LEAVING_REASONS = {
    "turned_20": "Du fyllde 20 år.",
    "enrolled": "Du började en utbildning på gymnasienivå.",
    "completed": "Du tog examen från gymnasiet eller en motsvarande utbildning.",
    "moved_out": "Du flyttade till en annan kommun.",
    "emigrated": "Du flyttade från Sverige.",
    "deceased": "Personen har avlidit.",
    "registered_in_error": "Du registrerades här av misstag. Perioden räknas inte i registret.",
}
ENTRY_REASON = (
    "Kommunen har ett ansvar för dig eftersom du bor i kommunen, är under 20 år, har gått ut "
    "grundskolan och inte går i gymnasiet eller har tagit examen därifrån."
)
# The facts a scope decision used (services/identify/domain/scope.py), in words.
ENTRY_FACTS = {
    "age": "Din ålder när beslutet togs: {} år.",
    "enrolled_in": "Inskriven i skola på gymnasienivå: {}.",
    "compulsory_school_ends": "Grundskoleåldern tog slut: {}.",
    "arrived_past_compulsory_school_age": "Du kom till Sverige efter grundskoleåldern.",
    "introduction_programme": "Du gick ett introduktionsprogram (räknades före 1 juli 2018).",
    "studies": "Dina studier räknas inte som gymnasieutbildning av kommunen: {}.",
    "studiebevis": "Du har ett studiebevis. Det räcker inte för att ansvaret ska upphöra.",
}
CHANNELS = {
    "letter": "brev", "sms": "sms", "phone": "telefon", "email": "e-post",
    "home_visit": "hembesök", "via_school": "via skolan", "via_guardian": "via vårdnadshavare",
    "other": "annat sätt",
}  # fmt: skip
OUTCOMES = {
    "reached": "vi nådde dig",
    "not_reached": "vi nådde dig inte",
    "wrong_contact_details": "kontaktuppgifterna var fel",
    "declined_contact": "du ville inte ha kontakt",
}
CONTACT_KINDS = {
    "established": "Vi fick kontakt med dig",
    "informed": "Vi berättade för dig om vad kommunen kan erbjuda",
}
TENSES = {"previous": "tidigare", "current": "nuvarande", "planned": "planerad"}
MEASURE_STATES = {
    "offered": "erbjuden",
    "accepted": "du tackade ja",
    "declined": "du tackade nej",
    "started": "pågår",
    "ended": "avslutad",
}
RESPONSIBLE = {"youth": "du", "municipality": "kommunen", "other_actor": "någon annan"}
CORRECTION_REASONS = {
    "wrong_date": "fel datum",
    "wrong_value": "fel uppgift",
    "wrong_youth": "registrerat på fel person",
    "recorded_twice": "registrerat två gånger",
    "did_not_happen": "det hände inte",
    "other": "annat skäl",
}
CORRECTION_KINDS = {"corrected": "rättades", "withdrawn": "togs bort"}
ENTRIES = {
    "ContactAttempted": "Ett kontaktförsök",
    "ContactEstablished": "En kontakt",
    "YouthInformed": "En uppgift om information till dig",
    "OccupationRecorded": "En uppgift om sysselsättning",
    "ContactDetailsRecorded": "Dina kontaktuppgifter",
    "CaseAssigned": "Uppgiften om vem som har ditt ärende",
    "IndividualPlanRevised": "Din individuella plan",
    "MeasureOffered": "Ett erbjudande om en insats",
    "MeasureAccepted": "Ditt ja till en insats",
    "MeasureDeclined": "Ditt nej till en insats",
    "MeasureStarted": "Starten av en insats",
    "MeasureEnded": "Avslutet av en insats",
    "ObjectionRecorded": "Din invändning mot registreringen",
}
PURPOSES = {
    "casework": "handläggning av ditt ärende",
    "identity": "för att kunna kontakta dig",
    "register": "arbete med registret",
    "audit-replay": "granskning av vad registret visade ett visst datum",
    "scb-report": "statistik till SCB",
    "retention": "gallring",
    "inspection": "tillsyn",
    "extract": "utdrag till dig (det här utdraget)",
}
SERVICES = {
    "register": "registret",
    "outreach": "uppsökande arbete",
    "measures": "insatser",
    "identify": "bevakning av vem som omfattas",
    "kaa-cli": "kommandorad för drift",
}
ACTOR_ROLES = {
    "user": "en medarbetare",
    "cli": "en driftansvarig",
    "system": "systemet automatiskt",
}


def swedish_date(day: date) -> str:
    """A date as a youth reads it: 1 mars 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def swedish_instant(instant: datetime) -> str:
    """An instant in Swedish time: 1 mars 2026 kl. 09.05."""
    local = instant.astimezone(STOCKHOLM)
    return f"{swedish_date(local.date())} kl. {local:%H.%M}"


def label(table: Mapping[str, str], code: str | None) -> str:
    """The words for a code (the code itself where the table has none)."""
    if code is None:
        return ""
    return table.get(code, code)


def code_label(list_name: str, code: str | None, version: str | None = None) -> str:
    """A code's label in the shipped code list (the version named, or the latest)."""
    if code is None:
        return ""
    try:
        codes = code_list(list_name, version=version).codes
    except ValueError:
        codes = code_list(list_name).codes
    return codes.get(code, code)


def actor_role(actor: str) -> str:
    """Who, by role (the access log keeps the actor, not a name to show the youth)."""
    kind = actor.split(":", 1)[0]
    return ACTOR_ROLES.get(kind, "en medarbetare")


def years_or_days(days: int) -> str:
    if days % 365 == 0:
        years = days // 365
        return "1 år" if years == 1 else f"{years} år"
    return f"{days} dagar"


def retention_due(left_on: date, days: int) -> date:
    """The first day retention may purge: the period after leaving has passed and the SCB
    half-year containing the leaving has closed (domain/retention.py's `is_due`)."""
    return max(left_on + timedelta(days=days), half_year_end(left_on) + timedelta(days=1))


def retention_rule(days: int, left_on: date | None, in_scope: bool) -> str:
    """The retention rule that applies to the youth, as a sentence or two."""
    rule = (
        f"Uppgifterna gallras (raderas) {years_or_days(days)} efter att kommunens "
        "aktivitetsansvar för dig har upphört, och tidigast när det halvår som kommunen "
        "rapporterar till SCB för har avslutats. Datum, koder och vilka steg som togs sparas "
        "utan uppgifter som pekar ut dig."
    )
    if in_scope or left_on is None:
        return rule + " Du omfattas av ansvaret nu, så inget datum för gallring är bestämt."
    return rule + f" För dig blir det tidigast {swedish_date(retention_due(left_on, days))}."
