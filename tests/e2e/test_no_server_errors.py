"""Nothing a caller sends gets a 5xx (issue 13, section 5): a property test over every endpoint of
every service, against the four services running as processes on the real Kafka and PostgreSQL.

Each service's own OpenAPI document (`/openapi.json`) says what an operation takes; hypothesis
draws path parameters, query parameters, headers and JSON bodies from it, mixed with hostile
values (NUL and control characters, lone surrogates, huge and negative numbers, instants at the
ends of the calendar, SQL, long strings, wrong types), and sends them with a valid token of the
roles the authorization matrix allows for that endpoint. A small municipality is loaded first so
that the ids in paths reach real cases, and the operations generated bodies rarely get past
validation with (corrections, withdrawals, letters, measure steps) start from a valid request
`seeded_requests.py` sets up for them. Every answer must be below 500, and nine in ten operations
must get past validation at least once.

Deterministic for CI: `derandomize=True` (the examples follow from the test's code), no example
database, a bounded number of examples per operation, no shrinking (each 5xx is reported with the
request's shape and the service's traceback line instead).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kaa.deployment import Deployment
from shared.auth import ROLES
from shared.codelists import code_list
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY, running
from tests.e2e.seeded_requests import RESERVED, Key, Seed, Seeds, smtp_server
from tests.e2e.test_casework import MOVER_NUMBER, YOUTH_NUMBER, population
from tests.unit.test_authorization_matrix import MATRIX

SERVICES = ("identify", "outreach", "measures", "register", "connect")
EXAMPLES_PER_OPERATION = 25
TENANT = "0180"

HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[2J",
    "\ud800",
    "\uffff",
    "line\nbreak",
    "' OR '1'='1",
    "'; DROP TABLE youths; --",
    "%00",
    "../../etc/passwd",
    "9223372036854775808",
    "-9223372036854775809",
    "99999999999999999999",
    "-1",
    "0",
    "1e309",
    "NaN",
    "true",
    "null",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30",
    "2026-03-01T25:61:61Z",
    "00000000-0000-0000-0000-000000000000",
    "x" * 5000,
    "å" * 300,
    "🙂" * 100,
]
HOSTILE_JSON: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e308,
    0.5,
    [],
    {},
    [None],
    {"": None},
    *HOSTILE_STRINGS,
]
EXTRA_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{",
    b"\xff\xfe\x00",
    b"[" * 50_000 + b"]" * 50_000,  # deep nesting
    b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
]


def _likely() -> dict[str, list[str]]:
    """Values a field of this name takes in real requests (codes of the code lists, periods)."""
    measure_types = [*code_list("measure-type").codes, "own_mentoring"]
    occupations = list(code_list("occupation").codes)
    return {
        "measure_type": measure_types,
        "code": measure_types,
        "end_reason": list(code_list("measure-end-reason").codes),
        "occupation_after": occupations,
        "category": occupations,
        "period": ["2026H1", "2025H2", "2015H1", "2026H2"],
        "assignee": ["user:fuzz", "anna.andersson", "team:north"],
        "school_type": ["GY", "GR", "GYS"],
        "school_unit": ["unit-1"],
        "email": ["anna@example.se"],
        "phone": ["+46701234567"],
        "kommunkod": [TENANT],
        "hemkommun": [TENANT, "1480"],
        "personnummer": [YOUTH_NUMBER, MOVER_NUMBER, "200802291239"],
        "reason": ["wrong_date", "wrong_value", "did_not_happen", "other"],
        "name": ["first_letter", "first_contact"],
        "template": ["first_letter"],
        "worklist": ["first_contact"],
        "format": ["json", "pdf"],
        "purpose": ["casework", "register", "identity", "extract"],
    }


LIKELY = _likely()


@dataclass
class Known:
    """Ids of real things in the deployment, so that generated paths reach real cases."""

    youths: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)  # event ids a correction or withdrawal names
    batches: list[str] = field(default_factory=list)  # letter batches
    reserved: list[str] = field(default_factory=list)  # the seeds' own youths, never drawn
    seeds: dict[Key, Callable[[], Seed]] = field(default_factory=dict)

    def pools(self) -> dict[str, list[str]]:
        """Which known ids a field of this name takes."""
        return {
            "youth_id": self.youths,
            "measure_id": self.measures,
            "follow_up_id": self.follow_ups,
            "corrects": self.entries,
            "withdraws": self.entries,
            "batch_id": self.batches,
            "youth_ids": self.youths,
        }


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes | None

    def target(self) -> str:
        """The path with its query string, encoded here (httpx cannot encode a lone surrogate)."""
        query = "&".join(f"{_encoded(k)}={_encoded(v)}" for k, v in self.params)
        return f"{self.path}?{query}" if query else self.path

    def shape(self) -> str:
        """The request's shape for a report: which parameters, a short body; the values are
        test data, but kept short."""
        names = ",".join(name for name, _ in self.params)
        body = "" if self.body is None else f" body={self.body[:160]!r}"
        return f"{self.method} {self.path[:160]} params=[{names}]{body}"


class Schemas:
    """Strategies from one OpenAPI document's JSON schemas, mixed with hostile values."""

    def __init__(self, document: dict[str, Any], known: Known) -> None:
        self.components = document.get("components", {}).get("schemas", {})
        self.known = known

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def value(
        self, schema: dict[str, Any], name: str = "", depth: int = 0
    ) -> st.SearchStrategy[Any]:
        """A valid-looking value (twice as likely) or a hostile one."""
        valid = self.valid(schema, name, depth)
        return st.one_of(valid, valid, valid, st.sampled_from(HOSTILE_JSON))

    def valid(self, schema: dict[str, Any], name: str, depth: int) -> st.SearchStrategy[Any]:
        drawn = self.drawn(schema, name, depth)
        if name in LIKELY:
            return st.one_of(st.sampled_from(LIKELY[name]), st.sampled_from(LIKELY[name]), drawn)
        return drawn

    def drawn(self, schema: dict[str, Any], name: str, depth: int) -> st.SearchStrategy[Any]:
        if isinstance(schema, bool):  # JSON Schema's `true`: any value (e.g. a free-form object)
            return st.sampled_from(HOSTILE_JSON)
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self.valid(s, name, depth) for s in schema[key]])
        if "allOf" in schema:
            return self.valid(schema["allOf"][0], name, depth)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if kind == "string":
            return self.string(schema, name)
        if kind == "integer":
            low, high = schema.get("minimum", -(2**40)), schema.get("maximum", 2**40)
            return st.one_of(
                st.integers(min_value=low, max_value=high),
                st.sampled_from([low - 1, high + 1, 2**63, -(2**63) - 1]),
            )
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        if kind == "array":
            if depth > 3:
                return st.just([])
            items = self.value(schema.get("items", {}), name, depth + 1)
            return st.lists(items, max_size=min(schema.get("maxItems", 3), 3))
        if kind == "object" or "properties" in schema:
            if depth > 3:
                return st.just({})
            properties = schema.get("properties", {})
            required = set(schema.get("required", []))
            strategies = {k: self.value(v, k, depth + 1) for k, v in properties.items()}
            if not properties and schema.get("additionalProperties"):
                extra = self.value(schema["additionalProperties"], name, depth + 1)
                return st.dictionaries(st.text(max_size=20), extra, max_size=3)
            return st.fixed_dictionaries(
                {k: s for k, s in strategies.items() if k in required},
                optional={k: s for k, s in strategies.items() if k not in required},
            )
        return st.sampled_from(HOSTILE_JSON)

    def string(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
        form = schema.get("format")
        if form == "uuid":
            return self.ids(name)
        if form == "date":
            recent = st.dates(min_value=date(2025, 1, 1), max_value=TODAY)
            return st.one_of(recent, recent, st.dates()).map(str)
        if form == "date-time":
            zones = st.sampled_from(["+00:00", "+14:00", "-14:00", "+01:00", "Z"]).map(_zone)
            recent = st.datetimes(
                min_value=datetime(2025, 1, 1), max_value=datetime(2026, 3, 1), timezones=zones
            )
            return st.one_of(recent, recent, st.datetimes(timezones=zones)).map(
                lambda d: d.isoformat()
            )
        if "pattern" in schema:
            pattern = schema["pattern"]
            return st.from_regex(pattern, fullmatch=True).filter(
                lambda s: len(s) <= schema.get("maxLength", 10_000)
            )
        return st.text(max_size=min(schema.get("maxLength", 40) + 2, 400))

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        """One ordinary valid value (what a caseworker would send), deterministic."""
        schema = self.resolve(schema)
        options = [self.resolve(o) for o in schema.get("anyOf", [])]
        if options:
            schema = next((o for o in options if o.get("type") != "null"), options[0])
        if name in LIKELY:
            return LIKELY[name][0]
        if "enum" in schema:
            return schema["enum"][0]
        form, kind = schema.get("format"), schema.get("type")
        if form == "uuid":
            pool = self.known.pools().get(name) or [str(uuid4())]
            return pool[0]
        if form == "date":
            return str(TODAY - timedelta(days=3))
        if form == "date-time":
            return "2026-02-27T10:00:00+01:00"
        if kind == "integer":
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object" or "properties" in schema:
            required = schema.get("required", [])
            return {k: self.example(v, k) for k, v in schema.get("properties", {}).items()
                    if k in required}  # fmt: skip
        if "pattern" in schema:
            return "text"
        return "Text"

    def ids(self, name: str) -> st.SearchStrategy[str]:
        pool = self.known.pools().get(name, [])
        fresh = st.uuids().map(str)
        if not pool:
            return fresh
        known = st.sampled_from(pool)
        return st.one_of(known, known, known, fresh)


EXTREME_INTEGERS: list[Any] = [-1, 0, 2**31, 2**63, -(2**63) - 1, 10**20, 1e308, "1e3", "NaN"]
EXTREME_TEXT: list[Any] = ["", "\x00", "a\x00b", "\ud800", "\x1f", "x" * 5000, "' OR '1'='1", None]
EXTREMES: dict[str, list[Any]] = {
    "integer": EXTREME_INTEGERS,
    "number": EXTREME_INTEGERS,
    "boolean": [2, "maybe", "\x00", None],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30", "1899-12-31", "\x00", 20260301, None],
    "date-time": [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2026-03-01T10:00:00",
        "2026-03-01T10:00:00 01:00",
        "9999999999999",
        "\x00",
        None,
    ],
    "uuid": ["00000000-0000-0000-0000-000000000000", "x", "\x00", None],
    "string": EXTREME_TEXT,
    "array": [[None], ["\x00"], [{}] * 60, "x", None],
    "object": [[], "x", {"\x00": 1}, None],
}


def kind_of(schema: dict[str, Any]) -> str:
    """The kind of value a (resolved, possibly nullable) schema takes, for its extremes."""
    for option in (schema, *schema.get("anyOf", [])):
        form = option.get("format")
        if form in ("date", "date-time", "uuid"):
            return str(form)
        if option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def _zone(offset: str) -> Any:
    if offset == "Z":
        return UTC
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _as_query(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _encoded(text: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate goes as the bytes it would be (invalid UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _as_path(value: Any) -> str:
    # A segment of a path: encoded, and never empty (an empty segment is another route).
    return _encoded(_as_query(value) or "x") or "x"


def call_strategy(
    schemas: Schemas, path: str, method: str, operation: dict[str, Any], token: str
) -> st.SearchStrategy[Call]:
    parameters = operation.get("parameters", [])
    path_params = {p["name"]: p for p in parameters if p["in"] == "path"}
    query_params = [p for p in parameters if p["in"] == "query"]
    header_params = [p for p in parameters if p["in"] == "header"]
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )

    path_values = st.fixed_dictionaries(
        {
            name: st.one_of(
                schemas.valid(p.get("schema", {}), name, 0),
                schemas.valid(p.get("schema", {}), name, 0),
                schemas.valid(p.get("schema", {}), name, 0),
                st.sampled_from(HOSTILE_STRINGS),
            ).map(_as_path)
            for name, p in path_params.items()
        }
    )
    query_values = st.fixed_dictionaries(
        {},
        optional={
            p["name"]: st.one_of(
                schemas.valid(p.get("schema", {}), p["name"], 0),
                schemas.valid(p.get("schema", {}), p["name"], 0),
                st.sampled_from(HOSTILE_STRINGS),
            ).map(_as_query)
            for p in query_params
        },
    )
    hostile_headers = st.fixed_dictionaries(
        {},
        optional={
            p["name"]: st.sampled_from([TENANT, "0181", "9999", "abcd", "", "0180,0181"])
            for p in header_params
        },
    )
    header_values = st.one_of(st.just({}), st.just({}), st.just({}), hostile_headers)
    if body_schema is None:
        bodies: st.SearchStrategy[bytes | None] = st.none()
    else:
        valid = schemas.valid(body_schema, "", 0).map(_json_bytes)
        bodies = st.one_of(
            valid,
            valid,
            valid,
            schemas.value(body_schema).map(_json_bytes),
            schemas.value(body_schema).map(_json_bytes),
            st.sampled_from(EXTRA_BODIES),
        )

    def build(
        paths: dict[str, str],
        query: dict[str, str | None],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Call:
        url = re.sub(r"\{(\w+)\}", lambda m: paths[m[1]], path)
        return Call(
            method=method.upper(),
            path=url,
            params=[(k, v) for k, v in query.items() if v is not None],
            headers={
                "Authorization": f"Bearer {token}",
                **headers,
                **({"Content-Type": "application/json"} if body is not None else {}),
            },
            body=body,
        )

    return st.builds(build, path_values, query_values, header_values, bodies)


def sweep(
    schemas: Schemas,
    path: str,
    method: str,
    operation: dict[str, Any],
    token: str,
    seed: Seed | None = None,
) -> Iterator[Call]:
    """The ordinary request first (the seed's, when the operation has one), then each parameter
    and each body field in turn at each extreme of its kind, the rest ordinary: a deterministic
    sweep of the boundaries a random draw may miss."""
    parameters = operation.get("parameters", [])
    ordinary_path = {
        p["name"]: schemas.example(p.get("schema", {}), p["name"])
        for p in parameters
        if p["in"] == "path"
    }
    ordinary_query = {
        p["name"]: _as_query(schemas.example(p.get("schema", {}), p["name"])) or ""
        for p in parameters
        if p["in"] == "query" and p.get("required")
    }
    body_schema = (
        operation.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema")
    )
    body = schemas.example(body_schema) if body_schema is not None else None
    if seed is not None:
        ordinary_path.update(seed.path)
        ordinary_query.update(seed.query)
        body = body if seed.body is None else seed.body

    def query(**changed: str) -> list[tuple[str, str]]:
        return list({**ordinary_query, **changed}.items())

    def call(
        paths: dict[str, Any], query: list[tuple[str, str]], content: Any, raw: bytes | None = None
    ) -> Call:
        url = re.sub(r"\{(\w+)\}", lambda m: _as_path(paths[m[1]]), path)
        payload = raw if raw is not None else None if content is None else _json_bytes(content)
        headers = {"Authorization": f"Bearer {token}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return Call(method.upper(), url, query, headers, payload)

    yield call(ordinary_path, query(), body)
    for p in parameters:
        if p["in"] == "header":
            continue
        for value in EXTREMES[kind_of(schemas.resolve(p.get("schema", {})))]:
            if p["in"] == "path":
                yield call({**ordinary_path, p["name"]: value}, query(), body)
            elif value is not None:
                yield call(ordinary_path, query(**{p["name"]: _as_query(value) or ""}), body)
    if body_schema is not None:
        resolved = schemas.resolve(body_schema)
        ordinary = body if isinstance(body, dict) else {}
        for name, field_schema in resolved.get("properties", {}).items():
            for value in EXTREMES[kind_of(schemas.resolve(field_schema))]:
                yield call(ordinary_path, query(), {**ordinary, name: value})
        for raw in EXTRA_BODIES:
            yield call(ordinary_path, query(), None, raw)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


@dataclass
class Finding:
    service: str
    method: str
    path: str
    status: int
    shape: str


def in_register(deployment: Deployment, lines: list[bytes]) -> dict[str, str]:
    """Publish population lines; the register's youths then, with their scope episodes."""
    asyncio.run(deployment.publish_feed("population", lines))
    asyncio.run(deployment.drained())
    with deployment.client("register", TENANT, "caseworker") as register:
        rows = register.get("/v1/youths", params={"limit": 100}).json()["items"]
    return {row["youth_id"]: row["scope_episode_id"] for row in rows}


def fixture_data(deployment: Deployment) -> Known:
    """Two youths in scope, a measure offered and declined (a re-offer follow-up is due), a
    letter batch; and the seeds' own youths, with names and addresses."""
    known = Known()
    known.youths = list(
        in_register(deployment, [population(YOUTH_NUMBER), population(MOVER_NUMBER)])
    )
    assert len(known.youths) == 2, "the two youths are in the register"
    episodes = in_register(deployment, RESERVED)
    known.reserved = sorted(set(episodes) - set(known.youths))
    assert len(known.reserved) == len(RESERVED), "the seeds' youths are in the register"
    with deployment.client("measures", TENANT, "caseworker") as measures:
        youth = known.youths[0]
        offered = measures.post(
            f"/v1/youths/{youth}/measure-offers",
            json={"measure_type": "internship", "offered_on": "2026-02-20"},
        )
        assert offered.status_code == 201, offered.text
        measure = offered.json()["measure_id"]
        declined = measures.post(
            f"/v1/youths/{youth}/measures/{measure}/decline", json={"on": "2026-02-25"}
        )
        assert declined.status_code == 201, declined.text
        case = measures.get(f"/v1/youths/{youth}/measures").json()
        known.measures = [measure]
        known.follow_ups = [f["follow_up_id"] for f in case["follow_ups"]]
        known.entries = [
            entry["event_id"] for item in case["measures"] for entry in item.get("entries", [])
        ]
    seeded, in_error = known.reserved[:2]
    with deployment.client("outreach", TENANT, "caseworker") as outreach:
        letter = outreach.post(f"/v1/youths/{seeded}/letters", json={})
        assert letter.status_code == 201, letter.text
        known.batches = [letter.headers["Kaa-Batch-Id"]]
    seeds = Seeds(
        deployment, TENANT, seeded, (in_error, episodes[in_error]), known.batches[0], known.youths
    )
    known.seeds = seeds.by_operation()
    return known


def log_offsets(deployment: Deployment) -> dict[str, int]:
    assert deployment.platform is not None
    return {
        name: proc.log_file.stat().st_size if proc.log_file.exists() else 0
        for name, proc in deployment.platform.processes.items()
    }


def tracebacks(deployment: Deployment, since: dict[str, int]) -> dict[str, list[str]]:
    """The last line of each traceback the services logged since `since` (where and what)."""
    assert deployment.platform is not None
    found: dict[str, list[str]] = {}
    for name, proc in deployment.platform.processes.items():
        with proc.log_file.open("rb") as log:
            log.seek(since.get(name, 0))
            text = log.read().decode("utf-8", "replace")
        text = "\n".join(_traceback_text(line) for line in text.splitlines())
        lines: list[str] = []
        frames = re.findall(r'File "[^"]*/((?:services|shared)/[^"]+)", line (\d+), in (\w+)', text)
        errors = re.findall(r"^(\w+(?:\.\w+)*(?:Error|Exception)\b[^\n]{0,200})$", text, re.M)
        if frames:
            lines.append("last frames: " + "; ".join(":".join(f) for f in frames[-3:]))
        lines += sorted(set(errors))[:10]
        if lines:
            found[name] = lines
    return found


def _traceback_text(line: str) -> str:
    """A log line's traceback as lines of text (a JSON line keeps it in `exception`)."""
    try:
        logged = json.loads(line)
    except ValueError:
        return line
    return str(logged.get("exception", "")) if isinstance(logged, dict) else line


@pytest.fixture(scope="module")
def platform(infra: RunningInfra) -> Iterator[tuple[Deployment, Known]]:
    """The deployment, with e-mail delivery of letters configured (a local SMTP server), so
    that e-mailing a batch is exercised past "not configured"."""
    with smtp_server() as (_, port), pytest.MonkeyPatch.context() as env:
        env.setenv("KAA_LETTERS_SMTP_HOST", "127.0.0.1")
        env.setenv("KAA_LETTERS_SMTP_PORT", str(port))
        with running(infra, services=list(SERVICES)) as deployment:
            yield deployment, fixture_data(deployment)


def test_a_client_id_reused_with_other_content_is_409_and_a_retry_records_once(
    platform: tuple[Deployment, Known],
) -> None:
    """Measures (section 6): the same client id with the same body records once (200,
    `recorded: false`); with a different body it is 409 naming the id."""
    deployment, known = platform
    youth = known.youths[1]
    with deployment.client("measures", TENANT, "caseworker") as measures:

        def post(path: str, body: dict[str, Any], method: str = "POST") -> httpx.Response:
            return measures.request(method, f"/v1/youths/{youth}/{path}", json=body)

        def taken(response: httpx.Response, field: str) -> None:
            assert response.status_code == 409, response.text
            assert [e["field"] for e in response.json()["errors"]] == [field]

        offer = {"measure_type": "internship", "offered_on": "2026-02-26",
                 "measure_id": str(uuid4()), "content": "Praktik på biblioteket"}  # fmt: skip
        assert post("measure-offers", offer).status_code == 201
        again = post("measure-offers", offer)
        assert (again.status_code, again.json()["recorded"]) == (200, False)
        taken(post("measure-offers", {**offer, "measure_type": "study_visit"}), "measure_id")
        taken(post("measure-offers", {**offer, "content": "Något annat"}), "measure_id")

        plan = {"goal": "Börja på komvux", "revision_id": str(uuid4())}
        first = post("plan", plan, "PUT")
        assert first.status_code == 201, first.text
        retried = post("plan", plan, "PUT")
        assert retried.status_code == 200
        assert (retried.json()["revision"], retried.json()["recorded"]) == (
            first.json()["revision"],
            False,
        )
        taken(post("plan", {**plan, "goal": "Praktik först"}, "PUT"), "revision_id")

        objection = {"on": "2026-02-27", "objection_id": str(uuid4())}
        assert post("objections", objection).status_code == 201
        assert post("objections", objection).status_code == 200
        taken(post("objections", {**objection, "on": "2026-02-28"}), "objection_id")
        revisions = measures.get(f"/v1/youths/{youth}/plan/revisions").json()["revisions"]
        assert [r["revision_id"] for r in revisions].count(plan["revision_id"]) == 1


def test_the_access_log_pages_with_a_total_and_logs_the_whole_register_replay(
    platform: tuple[Deployment, Known],
) -> None:
    """Section 6: the whole-register replay logs every youth it shows; the access log takes
    limit and offset and says how many entries match."""
    deployment, known = platform
    with deployment.client("register", TENANT, "inspector") as inspector:
        as_of = datetime.now(UTC).isoformat()
        replay = inspector.get("/v1/audit/register", params={"as_of": as_of})
        assert replay.status_code == 200, replay.text
        shown = {row["youth_id"] for row in replay.json()["youths"]}
        assert shown == {*known.youths, *known.reserved}
        entries = inspector.get("/v1/access-log", params={"limit": 5000}).json()
        replayed = [e for e in entries["items"] if e["purpose"] == "audit-replay"]
        assert {e["youth_id"] for e in replayed} == shown
        assert all(e["what"].startswith("whole register as of") for e in replayed)

        total = entries["total"]
        assert total == len(entries["items"]) >= 2
        first = inspector.get("/v1/access-log", params={"limit": 1}).json()
        second = inspector.get("/v1/access-log", params={"limit": 1, "offset": 1}).json()
        assert (first["total"], first["limit"], first["offset"]) == (total, 1, 0)
        assert first["items"][0]["position"] > second["items"][0]["position"]
        past = inspector.get("/v1/access-log", params={"offset": total}).json()
        assert (past["total"], past["items"]) == (total, [])
        # The README's form of an instant, typed into a URL unencoded: the + arrives as a space.
        written = inspector.get("/v1/audit/register?as_of=2026-03-01T10:00:00+01:00")
        assert written.status_code == 200, written.text


def operations(
    deployment: Deployment,
) -> Iterator[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
    assert deployment.platform is not None
    for service in SERVICES:
        document = httpx.get(f"{deployment.platform.url(service)}/openapi.json", timeout=30).json()
        for path, methods in sorted(document["paths"].items()):
            for method, operation in sorted(methods.items()):
                if method in ("get", "put", "post", "delete", "patch"):
                    yield service, method, path, operation, document


def test_no_generated_request_gets_a_server_error(platform: tuple[Deployment, Known]) -> None:
    deployment, known = platform
    assert deployment.platform is not None
    offsets = log_offsets(deployment)
    findings: list[Finding] = []
    exercised: set[tuple[str, str, str]] = set()
    answered: dict[tuple[str, str, str], set[int]] = {}
    unseeded: list[str] = []  # seeded requests that did not get past validation
    clients = {
        service: httpx.Client(base_url=deployment.platform.url(service), timeout=60)
        for service in SERVICES
    }
    try:
        for service, method, path, operation, document in operations(deployment):
            key = (service, method.upper(), path)
            roles = sorted(MATRIX.get(key, set(ROLES)))
            token = deployment.token(TENANT, *roles, subject="fuzz")
            strategy = call_strategy(Schemas(document, known), path, method, operation, token)
            client = clients[service]
            exercised.add(key)

            def send(
                request: Call,
                service: str = service,
                client: httpx.Client = client,
                template: str = path,
            ) -> httpx.Response:
                response = answer(client, request)
                answered.setdefault((service, request.method, template), set()).add(
                    response.status_code
                )
                if response.status_code >= 500:
                    findings.append(
                        Finding(
                            service, request.method, template, response.status_code, request.shape()
                        )
                    )
                return response

            seed = known.seeds[key]() if key in known.seeds else None
            schemas = Schemas(document, known)
            for n, request in enumerate(sweep(schemas, path, method, operation, token, seed)):
                response = send(request)
                if n == 0 and seed is not None and response.status_code >= 300:
                    unseeded.append(f"{key}: {response.status_code} {response.text[:300]}")
            run(strategy, send)
    finally:
        for client in clients.values():
            client.close()

    assert len(exercised) >= len(MATRIX), "every endpoint the matrix knows was exercised"
    assert set(known.seeds) <= exercised, "every seed is an operation's"
    reached = [key for key, statuses in answered.items() if any(s < 300 for s in statuses)]
    unexpected = findings
    if unexpected:
        report = "\n".join(
            f"{f.service} {f.method} {f.path}: {f.status} for {f.shape}" for f in unexpected[:40]
        )
        logged = tracebacks(deployment, offsets)
        pytest.fail(f"{len(unexpected)} requests got a 5xx:\n{report}\ntracebacks: {logged}")
    never = sorted(
        f"{m} {p} {sorted(answered[(s, m, p)])}" for s, m, p in answered if (s, m, p) not in reached
    )
    assert not unseeded, f"each seeded request got past validation: {unseeded}"
    # Corrections, withdrawals, letters and measure steps are seeded with real ids and bodies
    # (`seeded_requests.py`): 60 of 61 operations are reached (e-mailing a batch is not while
    # KAA_TODAY pins a day before the wall clock's).
    assert len(reached) >= 0.9 * len(answered), (
        f"{len(reached)} of {len(answered)} operations got past validation; never: {never}"
    )


def answer(client: httpx.Client, request: Call) -> httpx.Response:
    """The service's answer; a connection the server dropped (it closes one after a 500) is
    tried once more on a new one, and a second drop is an answer of 599."""
    for _ in range(2):
        try:
            return client.request(
                request.method, request.target(), headers=request.headers, content=request.body
            )
        except httpx.TransportError:
            continue
    return httpx.Response(599, text="no answer: the connection was dropped twice")


def run(strategy: st.SearchStrategy[Call], send: Callable[[Call], object]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def exercise(request: Call) -> None:
        send(request)

    exercise()


def test_the_extreme_requests_of_the_issue_are_answered_422(
    platform: tuple[Deployment, Known],
) -> None:
    """Section 5's examples against the running register: 422 naming the parameter."""
    deployment, _ = platform
    inspector = deployment.client("register", TENANT, "inspector")
    caseworker = deployment.client("register", TENANT, "caseworker")
    try:
        for client, url, name in (
            (caseworker, "/v1/youths?offset=9223372036854775808", "query.offset"),
            (inspector, "/v1/access-log?until=9999-12-31T23:59:59-14:00", "query.until"),
            (inspector, "/v1/audit/register?as_of=0001-01-01T00:00:00%2B14:00", "query.as_of"),
            (caseworker, "/v1/quality?period=1'%20OR%20'1'='1", "query.period"),
        ):
            response = client.get(url)
            assert response.status_code == 422, (url, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [name]
            assert "OR" not in response.text
            assert "9999" not in response.text
        plus = inspector.get("/v1/audit/register?as_of=2026-03-01T10:00:00+01:00")
        assert plus.status_code == 200, plus.text
    finally:
        inspector.close()
        caseworker.close()
