"""The four services' public HTTP APIs, called with the signed-in user's own token: the web
application sees exactly what the user may see, and every service's access log names the user.

A refusal comes back as `Refused` with the status and the service's errors by field (the
services name the field and the problem, never the value); a service that does not answer is
`Unavailable`, which the pages show as such rather than as an error of the user's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from services.web.adapters.config import WebConfig
from shared.auth import TENANT_HEADER
from shared.tracing import inject_headers

Service = Literal["identify", "outreach", "measures", "register"]


@dataclass
class Refused(Exception):
    status: int
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"


class Unavailable(Exception):
    """A service did not answer (or answered 5xx): `service` names it."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} did not answer")
        self.service = service


class ServicesApi:
    def __init__(self, config: WebConfig) -> None:
        self.config = config
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=50)
        self.clients = {
            name: httpx.AsyncClient(
                base_url=config.url_of(name),
                timeout=config.service_timeout_seconds,
                limits=limits,
            )
            for name in ("identify", "outreach", "measures", "register")
        }

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        token: str,
        tenant: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """The service's JSON answer; `Refused` for a 4xx, `Unavailable` otherwise."""
        headers = {"Authorization": f"Bearer {token}", TENANT_HEADER: tenant}
        headers.update((k, v.decode()) for k, v in inject_headers())  # the page's trace goes on
        try:
            response = await self.clients[service].request(
                method, path, params=params, json=body, headers=headers
            )
        except httpx.HTTPError:
            raise Unavailable(service) from None
        if response.status_code >= 500:
            raise Unavailable(service)
        if response.status_code >= 400:
            try:
                said = response.json()
            except ValueError:
                said = {}
            detail = said.get("detail") if isinstance(said, dict) else None
            errors = said.get("errors") if isinstance(said, dict) else None
            raise Refused(response.status_code, str(detail or ""), list(errors or []))
        if not response.content:
            return None
        content_type = response.headers.get("content-type", "")
        return response.json() if "json" in content_type else response.content
