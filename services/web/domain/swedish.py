"""kaa's codes in the Swedish a caseworker uses (the terms of DOMAIN.md), and Swedish dates.

The services speak codes (`first_contact`, `not_reached`, `home_visit`); a page never shows one
bare. An unknown code (a newer service than this page) is shown as itself rather than hidden.
"""

from __future__ import annotations

from datetime import date

MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip

# Each worklist: its heading, and why a youth is on it (the item's `since` completes it).
WORKLISTS: dict[str, tuple[str, str]] = {
    "first_contact": ("Första kontakt", "Nytt i aktivitetsansvaret, inget kontaktförsök än"),
    "recontact": ("Nytt kontaktförsök", "Inte nådd vid senaste kontaktförsöket"),
    "stale_occupation": ("Sysselsättning att bekräfta", "Sysselsättningen är inte bekräftad"),
    "turning_20": ("Fyller 20", "Lämnar aktivitetsansvaret när hen fyller 20"),
    "follow_up": ("Uppföljning", "Uppföljning av den individuella planen"),
}

CHANNELS: dict[str, str] = {
    "letter": "Brev",
    "sms": "Sms",
    "phone": "Telefon",
    "email": "E-post",
    "home_visit": "Hembesök",
    "via_school": "Via skolan",
    "via_guardian": "Via vårdnadshavare",
    "other": "Annat",
}

OUTCOMES: dict[str, str] = {
    "reached": "Nådd",
    "not_reached": "Inte nådd",
    "wrong_contact_details": "Fel kontaktuppgifter",
    "declined_contact": "Avböjde kontakt",
}

ROLES: dict[str, str] = {
    "caseworker": "Handläggare",
    "coordinator": "Samordnare",
    "school-reporter": "Skolrapportör",
    "inspector": "Granskare",
    "consortium-admin": "Förbundsadministratör",
    "operator": "Driftansvarig",
}

LEAVING_REASONS: dict[str, str] = {
    "enrolled": "Började i gymnasieskola",
    "completed": "Har slutfört utbildning",
    "turned_20": "Fyllde 20",
    "moved_out": "Flyttade från kommunen",
    "emigrated": "Utvandrade",
    "deceased": "Avliden",
    "registered_in_error": "Felregistrerad",
}


def label(codes: dict[str, str], code: str | None) -> str:
    """The Swedish word for `code`; an unknown one as itself, none as "–"."""
    if code is None:
        return "–"
    return codes.get(code, code)


def swedish_date(day: date | None) -> str:
    """`1 december 2026`; none as "–"."""
    if day is None:
        return "–"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def working_days(count: int) -> str:
    """`1 arbetsdag`, `3 arbetsdagar`."""
    return f"{count} arbetsdag" if count == 1 else f"{count} arbetsdagar"


def swedish_iso_date(value: str | None) -> str:
    """An ISO date as the services send it, in Swedish; none as "–"."""
    return swedish_date(date.fromisoformat(value[:10])) if value else "–"


FOLLOW_UPS: dict[str, str] = {
    "plan_follow_up": "Uppföljning av den individuella planen",
    "plan_evaluation": "Utvärdering av den individuella planen",
    "measure_reoffer": "Dags att erbjuda den avböjda insatsen igen",
}


def why_said(why: dict[str, object] | None, fallback: str) -> str:
    """Why a youth is on a worklist, in Swedish, from the outreach service's `why` (its code and
    the facts it names); `fallback` (the list's own sentence) for a code this page does not know."""
    if not why:
        return fallback
    code = why.get("code")
    if code == "new_in_scope":
        return "Nytt i aktivitetsansvaret, inget kontaktförsök än"
    if code == "school_reported":
        return "Skolan har anmält att eleven slutat, inget kontaktförsök sedan dess"
    if code == "not_reached":
        outcome = label(OUTCOMES, str(why.get("outcome"))).lower()
        return f"Senaste kontaktförsöket {_day(why, 'last_attempt_on')}: {outcome}"
    if code == "occupation_unknown":
        return "Sysselsättningen har aldrig registrerats"
    if code == "occupation_stale":
        return f"Sysselsättningen bekräftades senast {_day(why, 'confirmed_on')}"
    if code == "turning_20":
        return f"Fyller 20 den {_day(why, 'scope_ends_on')}, då upphör aktivitetsansvaret"
    if code == "follow_up":
        return FOLLOW_UPS.get(str(why.get("subject")), "Uppföljning")
    return fallback


def _day(why: dict[str, object], key: str) -> str:
    value = why.get(key)
    return swedish_iso_date(str(value)) if value else "–"
