"""The inspector pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call."""

from typing import Any

INSPECTOR = frozenset({"inspector"})
# Read-only pages (the one POST is the access log's search by user, which records nothing): the
# register decides again (its audit and access-log reads are for inspectors only), and each page
# checks the role before it asks, so a page that asks nothing (no instant typed yet) is forbidden
# to the other roles too.
PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/granskning"): INSPECTOR,
    ("GET", "/granskning/ungdomar/{youth_id}"): INSPECTOR,
    ("GET", "/granskning/atkomstlogg"): INSPECTOR,
    ("POST", "/granskning/atkomstlogg"): INSPECTOR,
}
FORMS: dict[str, list[dict[str, str]]] = {
    "/granskning/atkomstlogg": [{"anvandare": "anna.andersson", "fran": "2026-03-01"}],
}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("register", "GET", "/v1/access-log"): {"total": 0, "limit": 50, "offset": 0, "items": []},
}
