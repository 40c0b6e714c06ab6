"""The SS 12000 operations the test server answers, and its OAuth2 token endpoint.

`/token` (client credentials, RFC 6749 section 4.4) is not part of openapi.yml: SS 12000 leaves
authentication to the deployment, and organisers commonly put an OAuth2 authorisation server in
front of the API. Its answers are therefore not validated against openapi.yml; everything else is.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from tests.support.ss12000 import spec
from tests.support.ss12000.store import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Filters,
    NotFound,
    Store,
    parse_moment,
)

TOKEN_PATH = "/token"
# /persons' filters: "Filter ... kan inte kombineras med `pageToken`" (openapi.yml, /deletedEntities)
PERSON_FILTERS = {
    "meta.created.after": "created_after",
    "meta.created.before": "created_before",
    "meta.modified.after": "modified_after",
    "meta.modified.before": "modified_before",
}
DELETED_FILTERS = ("after", "entities")


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class Reply:
    status: int
    document: Any = None  # the JSON body (None: no body)
    raw: bytes | None = None  # a body sent as it is, not JSON (garble_next_page)
    headers: dict[str, str] = field(default_factory=dict)
    in_spec: bool = True  # False: not an SS 12000 answer (token endpoint, unknown path)
    checked_document: Any = None  # validated in place of `document` (malform_next_page)

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.document is None else orjson.dumps(self.document)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    require_token: bool


def error(status: int, code: str, message: str, **headers: str) -> Reply:
    """openapi.yml's Error body."""
    return Reply(status, {"code": code, "message": message}, headers=dict(headers))


def dispatch(store: Store, credentials: Credentials, incoming: Incoming) -> Reply:
    if incoming.path == TOKEN_PATH:
        return token(store, credentials, incoming)
    if credentials.require_token and not _authorized(store, incoming):
        return error(
            401,
            "unauthorized",
            "a valid, unexpired bearer token is required (POST /token)",
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    problem = spec.check_request(
        incoming.method, incoming.path, incoming.query, incoming.body, incoming.content_type
    )
    if problem is not None:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        reply = error(problem.status, codes[problem.status], problem.message)
        reply.in_spec = problem.status == 400
        return reply
    return _route(store, incoming)


def _route(store: Store, incoming: Incoming) -> Reply:
    method, path, query = incoming.method, incoming.path, incoming.query
    parts = path.strip("/").split("/")
    if method == "GET" and path == "/persons":
        return persons(store, query)
    if method == "GET" and len(parts) == 2 and parts[0] == "persons":
        try:
            return Reply(200, store.person(parts[1]))
        except NotFound:
            return error(404, "not_found", "no person with this id")
    if method == "GET" and path == "/deletedEntities":
        return deleted(store, query)
    if method == "POST" and path == "/subscriptions":
        return subscribe(store, incoming.body)
    if len(parts) == 2 and parts[0] == "subscriptions" and method in ("PATCH", "DELETE"):
        return (
            renew(store, parts[1], incoming.body)
            if method == "PATCH"
            else unsubscribe(store, parts[1])
        )
    return error(501, "not_implemented", f"{method} {path} is not implemented by this test server")


def _authorized(store: Store, incoming: Incoming) -> bool:
    scheme, _, value = incoming.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and store.token_valid(value.strip())


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _limit(query: Mapping[str, list[str]]) -> int | None:
    """Validated against openapi.yml (an integer, at least 1); more than MAX_LIMIT is MAX_LIMIT."""
    text = _one(query, "limit")
    return None if text is None else min(int(text), MAX_LIMIT)


def persons(store: Store, query: Mapping[str, list[str]]) -> Reply:
    token = _one(query, "pageToken")
    if token is not None:
        combined = [name for name in PERSON_FILTERS if name in query]
        if combined:
            return error(
                400,
                "bad_request",
                f"pageToken cannot be combined with filters ({', '.join(combined)})",
            )
        try:
            page = store.next_page("persons", token, _limit(query))
        except NotFound:
            return error(400, "bad_request", "pageToken: unknown to this server")
    else:
        values: dict[str, Any] = {}
        for name, attribute in PERSON_FILTERS.items():
            text = _one(query, name)
            if text is not None:
                try:
                    values[attribute] = parse_moment(text)
                except ValueError:
                    return error(
                        400, "bad_request", f"{name}: not an RFC 3339 date-time with an offset"
                    )
        page = store.first_persons(Filters(**values), _limit(query) or DEFAULT_LIMIT)
    return Reply(200, {"data": page.items, "pageToken": page.next_token})


def deleted(store: Store, query: Mapping[str, list[str]]) -> Reply:
    token = _one(query, "pageToken")
    if token is not None:
        combined = [name for name in DELETED_FILTERS if name in query]
        if combined:
            return error(
                400,
                "bad_request",
                f"pageToken cannot be combined with filters ({', '.join(combined)})",
            )
        try:
            page = store.next_page("deleted", token, _limit(query))
        except NotFound:
            return error(400, "bad_request", "pageToken: unknown to this server")
    else:
        after_text = _one(query, "after")
        try:
            after = None if after_text is None else parse_moment(after_text)
        except ValueError:
            return error(400, "bad_request", "after: not an RFC 3339 date-time with an offset")
        page = store.first_deleted(after, query.get("entities", []), _limit(query) or DEFAULT_LIMIT)
    # Only persons are ever deleted on this server; the other types asked for are listed empty.
    data = {key: (page.items if key == "persons" else []) for key in page.keys}
    return Reply(200, {"data": data, "pageToken": page.next_token})


def subscribe(store: Store, body: bytes) -> Reply:
    document = orjson.loads(body)  # validated against Subscription_post already
    target = document["target"]
    if not target.startswith(("http://", "https://")):
        return error(400, "bad_request", "target: not an http(s) URL")
    subscription = store.subscribe(document["name"], target, document["resourceTypes"])
    return Reply(201, subscription)


def renew(store: Store, sid: str, body: bytes) -> Reply:
    """openapi.yml gives PATCH no request body; `{"expires": "<date-time>"}` or nothing is taken."""
    asked = None
    if body.strip():
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return error(400, "bad_request", "body: not JSON")
        if not isinstance(document, dict):
            return error(400, "bad_request", "body: not a JSON object")
        if "expires" in document:
            try:
                asked = parse_moment(str(document["expires"]))
            except ValueError:
                return error(
                    400, "bad_request", "expires: not an RFC 3339 date-time with an offset"
                )
    try:
        return Reply(200, store.renew(sid, asked))
    except NotFound:
        return error(404, "not_found", "no such subscription (unknown, deleted or expired)")


def unsubscribe(store: Store, sid: str) -> Reply:
    try:
        store.unsubscribe(sid)
    except NotFound:
        return error(404, "not_found", "no such subscription")
    return Reply(204)


# -- OAuth2 client credentials (not in openapi.yml) ------------------------------------------------


def _oauth_error(status: int, code: str, **headers: str) -> Reply:
    return Reply(
        status, {"error": code}, headers={"Cache-Control": "no-store", **headers}, in_spec=False
    )


def _client(incoming: Incoming, form: Mapping[str, list[str]]) -> tuple[str, str] | None:
    scheme, _, value = incoming.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, colon, secret = decoded.partition(":")
        return (unquote(name), unquote(secret)) if colon else None
    form_name, form_secret = _one(form, "client_id"), _one(form, "client_secret")
    return (form_name, form_secret) if form_name is not None and form_secret is not None else None


def token(store: Store, credentials: Credentials, incoming: Incoming) -> Reply:
    if incoming.method != "POST":
        return _oauth_error(405, "invalid_request")
    form = parse_qs(incoming.body.decode("utf-8", "replace"), keep_blank_values=True)
    client = _client(incoming, form)
    if client is None or not (
        hmac.compare_digest(client[0].encode(), credentials.client_id.encode())
        and hmac.compare_digest(client[1].encode(), credentials.client_secret.encode())
    ):
        return _oauth_error(401, "invalid_client", **{"WWW-Authenticate": 'Basic realm="ss12000"'})
    if _one(form, "grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type")
    document = {
        "access_token": store.issue_token(),
        "token_type": "Bearer",
        "expires_in": int(store.token_ttl.total_seconds()),
    }
    return Reply(200, document, headers={"Cache-Control": "no-store"}, in_spec=False)
