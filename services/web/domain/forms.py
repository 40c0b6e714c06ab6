"""A service's refusal as a form shows it: a Swedish message next to each field it names, and the
same messages in the error summary at the top (GOV.UK Frontend's pattern).

The services name the field (`body.at`, `query.limit`, `corrects`) and the problem in English,
never the value. Known problems are said in Swedish; any other is said as "Kontrollera <field>"
so that no English reaches the page. A problem naming no field of the form goes to `_form` (the
summary only), e.g. a 409 "the youth is not in scope".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

FORM = "_form"

# (substring of the service's problem, Swedish message); the first that matches is said.
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("Field required", "måste fyllas i"),
    ("is in the future", "får inte ligga i framtiden"),
    ("is before the youth was born", "får inte vara före ungdomens födelse"),
    ("is before 1900", "är inte ett rimligt datum"),
    ("is before 2015-01-01", "får inte vara före 2015, då aktivitetsansvaret började"),
    ("valid date", "måste vara ett datum (åååå-mm-dd)"),
    ("valid datetime", "måste vara en tidpunkt (åååå-mm-dd tt:mm)"),
    ("Input should be", "har ett värde som inte finns i listan"),
    ("at most", "är för långt"),
    ("String should have at least", "måste fyllas i"),
    ("control character", "innehåller tecken som inte är tillåtna"),
    ("not in scope", "ungdomen är inte i aktivitetsansvaret"),
    ("no such", "finns inte (längre) i din kommun"),
)


def field_of(name: str) -> str:
    """The form field a service's field path names: `body.at` → `at`, `body.values.at` → `at`."""
    parts = [p for p in name.split(".") if p not in ("body", "query", "path", "values")]
    return parts[-1] if parts else FORM


def swedish_problem(problem: str) -> str:
    for said, message in PROBLEMS:
        if said.lower() in problem.lower():
            return message
    return "har ett värde som inte godtogs"


def field_errors(
    errors: Iterable[Mapping[str, str]], labels: Mapping[str, str], detail: str = ""
) -> dict[str, str]:
    """Messages by form field, for the fields of this form (`labels`: field → its Swedish label);
    a problem naming another field, or none, is said once under `_form`."""
    shown: dict[str, str] = {}
    for error in errors:
        name = field_of(str(error.get("field", "")))
        message = swedish_problem(str(error.get("problem", "")))
        if name in labels:
            shown.setdefault(name, f"{labels[name]} {message}")
        else:
            shown.setdefault(FORM, f"Det gick inte att spara: {message}")
    if not shown:
        shown[FORM] = f"Det gick inte att spara: {swedish_problem(detail)}"
    return shown
