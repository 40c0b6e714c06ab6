"""An organiser's SS 12000 API over HTTP (Skolverket's openapi.yml): persons page by page, deleted
entities, subscriptions; OAuth2 client credentials. Every failure is an `Ss12000Error` naming the
organiser and what to check, never a value from the answer (it may hold personal data)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from services.connect.domain.organisers import problem_text
from shared.connectors import Organiser

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SUBSCRIPTION_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")  # a uuid in openapi.yml


class Ss12000Error(Exception):
    """A call that failed: `status` (None: no answer), `retry_after` seconds when the organiser
    said so, and the operator's message."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def credentials(self) -> bool:
        return self.status in (401, 403)


@dataclass
class _Token:
    value: str
    until: float


class Ss12000Client:
    """One organiser's API; `http` is shared (connection pooling), the token is this client's."""

    def __init__(self, organiser: Organiser, secret: str | None, http: httpx.AsyncClient) -> None:
        self.organiser = organiser
        self.secret = secret
        self.http = http
        self.base = organiser.base_url.rstrip("/")
        self._token: _Token | None = None

    def _error(
        self, status: int | None, reason: str, retry_after: float | None = None
    ) -> Ss12000Error:
        o = self.organiser
        return Ss12000Error(problem_text(o.name, status, reason, o.secret_variable), status, retry_after)  # fmt: skip

    async def _bearer(self, renew: bool = False) -> dict[str, str]:
        o = self.organiser
        if o.token_url is None:
            return {}
        if not renew and self._token is not None and self._token.until > time.monotonic():
            return {"Authorization": f"Bearer {self._token.value}"}
        if not o.client_id or not self.secret:
            raise self._error(
                None, f"no client_id, or the secret variable {o.secret_variable} is not set"
            )
        form = {"grant_type": "client_credentials", **({"scope": o.scope} if o.scope else {})}
        try:
            answer = await self.http.post(
                o.token_url, data=form, auth=(o.client_id, self.secret), timeout=TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise self._error(
                None, f"the token endpoint cannot be reached ({type(exc).__name__})"
            ) from None
        if answer.status_code in (400, 401, 403):
            raise self._error(401, "")
        if answer.status_code != 200:
            raise self._error(answer.status_code, "from the token endpoint", _retry_after(answer))
        try:
            body = orjson.loads(answer.content)
            token, lifetime = body["access_token"], float(body.get("expires_in") or 300)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise self._error(None, "the token endpoint's answer has no access_token") from None
        self._token = _Token(str(token), time.monotonic() + max(1.0, lifetime - 30))
        return {"Authorization": f"Bearer {self._token.value}"}

    async def _call(
        self, method: str, path: str, *, params: Any = None, body: Any = None
    ) -> httpx.Response:
        for attempt in (0, 1):
            headers = await self._bearer(renew=attempt == 1)
            if body is not None:
                headers = {**headers, "Content-Type": "application/json"}
            try:
                answer = await self.http.request(
                    method, self.base + path, params=params, headers=headers, timeout=TIMEOUT,
                    content=orjson.dumps(body) if body is not None else None,
                )  # fmt: skip
            except httpx.HTTPError as exc:
                raise self._error(None, f"cannot be reached ({type(exc).__name__})") from None
            if answer.status_code == 401 and attempt == 0 and self.organiser.token_url:
                continue  # the token may have expired early: one new token, then it counts
            if answer.status_code >= 400:
                raise self._error(answer.status_code, f"from {path}", _retry_after(answer))
            return answer
        raise AssertionError("unreachable")

    async def _json(self, path: str, params: Any) -> dict[str, Any]:
        answer = await self._call("GET", path, params=params)
        try:
            body = orjson.loads(answer.content)
        except orjson.JSONDecodeError:
            raise self._error(None, f"a page of {path} is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list | dict):
            raise self._error(None, f"a page of {path} has no data (not SS 12000)")
        token = body.get("pageToken")
        if token is not None and not isinstance(token, str):
            raise self._error(None, f"a page of {path} has a pageToken that is not text")
        return body

    async def persons(
        self, modified_after: datetime | None, limit: int
    ) -> AsyncIterator[list[Any]]:
        """Each page's person items as given (the first request filters, the next only page)."""
        params: dict[str, Any] = {"limit": limit}
        if modified_after is not None:
            params["meta.modified.after"] = _instant(modified_after)
        seen: set[str] = set()
        while True:
            body = await self._json("/persons", params)
            if not isinstance(body["data"], list):
                raise self._error(None, "a page of /persons has data that is not a list")
            yield body["data"]
            token = body.get("pageToken")
            if not token:
                return
            if token in seen:  # a server that hands the same page back: never done
                raise self._error(None, "/persons gave a pageToken it had given before")
            seen.add(token)
            params = {"pageToken": token}

    async def deleted_persons(self, after: datetime) -> list[str]:
        """The ids of the persons the organiser deleted on or after `after`."""
        params: dict[str, Any] = {"after": _instant(after), "entities": "Person"}
        ids: list[str] = []
        while True:
            body = await self._json("/deletedEntities", params)
            persons = body["data"].get("persons") if isinstance(body["data"], dict) else None
            ids.extend(p for p in persons or [] if isinstance(p, str))
            token = body.get("pageToken")
            if not token:
                return ids
            params = {"pageToken": token}

    async def subscribe(self, name: str, target: str) -> tuple[str, datetime]:
        """A webhook on persons changed or deleted: (its id, when it expires)."""
        answer = await self._call(
            "POST", "/subscriptions",
            body={"name": name, "target": target, "resourceTypes": [{"resource": "Person"}]},
        )  # fmt: skip
        return self._subscription(answer)

    async def renew(self, subscription_id: str) -> datetime:
        """Renew the subscription; its new expiry (404: it is gone, subscribe again)."""
        if not SUBSCRIPTION_ID.fullmatch(subscription_id):
            raise self._error(404, "the subscription's id is not one to put in a path")
        answer = await self._call("PATCH", f"/subscriptions/{subscription_id}", body={})
        return self._subscription(answer)[1]

    def _subscription(self, answer: httpx.Response) -> tuple[str, datetime]:
        try:
            body = orjson.loads(answer.content)
            expires = datetime.fromisoformat(str(body["expires"]).replace("Z", "+00:00"))
            if not SUBSCRIPTION_ID.fullmatch(str(body["id"])):
                raise ValueError("id")
            return str(body["id"]), expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise self._error(None, "a subscription answer without id and expires") from None


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _retry_after(answer: httpx.Response) -> float | None:
    value = answer.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
