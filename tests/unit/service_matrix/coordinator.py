"""Service endpoints added for the coordinator pages of the web application (issue 19): who may call
each, merged into `tests/unit/test_authorization_matrix.py`'s MATRIX."""

CONFIGURATION = {"coordinator", "consortium-admin"}
CASEWORK = {"caseworker", "coordinator"}

MATRIX: dict[tuple[str, str, str], set[str]] = {
    # Every caseworker's and team's load: the coordinator's team overview only.
    ("outreach", "GET", "/v1/caseload"): {"coordinator"},
    ("outreach", "GET", "/v1/caseload/cases"): {"coordinator"},
    # The history of configuration (no personal data): who may read the configuration itself.
    ("outreach", "GET", "/v1/tenant-rules/history"): CASEWORK | CONFIGURATION,
    ("measures", "GET", "/v1/tenant-rules/history"): CASEWORK | CONFIGURATION,
    ("measures", "GET", "/v1/catalogue/history"): CASEWORK | CONFIGURATION,
}
