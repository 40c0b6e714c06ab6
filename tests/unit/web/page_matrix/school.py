"""The school pages' row of the web's page matrix (issue 19): who may use each page, a form each
POST page accepts, and what the fake services answer the endpoints these pages call."""

from typing import Any

SCHOOL = frozenset({"school-reporter"})
ROWS = (
    "personnummer;händelse;datum;skolform;skolenhet\n20080302-2383;slutade;2026-03-02;GY;enhet-1\n"
)

# Only the school's reporter: the form and the file's page show nothing from a service, so the
# pages check the role themselves (identify's matrix allows its endpoint to that role only).
PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/skola"): SCHOOL,
    ("POST", "/skola"): SCHOOL,
    ("GET", "/skola/fil"): SCHOOL,
    ("POST", "/skola/fil"): SCHOOL,
    ("GET", "/skola/mall.csv"): SCHOOL,
}
FORMS: dict[str, list[dict[str, str]]] = {
    "/skola": [
        {
            "personnummer": "20080302-2383",
            "kind": "left",
            "on": "2026-03-02",
            "school_type": "GY",
            "school_unit": "enhet-1",
        },
    ],
    "/skola/fil": [{"rader": ROWS}],  # pasted rows (the test client posts no file)
}
ANSWERS: dict[tuple[str, str, str], Any] = {
    ("identify", "POST", "/v1/school-notifications"): {
        "notification_id": "7d7d1a0e-3d2c-4b8e-9a51-2f6d8c0b1e55",
        "youth_id": "0c6a3f64-2b1e-4d35-9b0e-3f1c2d4e5a6b",
        "repeat": False,
    },
}
