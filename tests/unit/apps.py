"""The four services' apps in-process, without their lifespan (no Kafka, no PostgreSQL).

For tests of what a request gets before a handler touches a database: authorization, validation,
the OpenAPI documents. A role that may not call an endpoint gets 403 and a bad value 422 before
anything else runs.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.auth import issue_token
from shared.settings import ServiceSettings

SECRET = "unit-test-secret-of-sufficient-length"
SERVICES = ("identify", "outreach", "measures", "register")


def offline_settings(**overrides: Any) -> ServiceSettings:
    """Settings that name no reachable server and carry their own secrets.

    Never read from the developer's `.kaa/secrets.env`: on a clean clone it does not exist until
    the infrastructure has been started, and a unit test must not depend on that order.
    """
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": "127.0.0.1:9",
        "database_url": "postgresql://n:n@127.0.0.1:9/n",
        "token_secret": SECRET,
        "pseudonym_key": "unit-pseudonym-key-0123456789",
        "master_key": "unit-master-key-0123456789abcdef",
    }
    return ServiceSettings(**{**values, **overrides})


@contextlib.contextmanager
def service_clients(
    tenants: str = "0180", today: str | None = None, services: tuple[str, ...] = SERVICES
) -> Iterator[dict[str, TestClient]]:
    """A test client per service (no `with`: the lifespan does not run)."""
    patch = pytest.MonkeyPatch()
    for name, value in {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/none",
        "KAA_TOKEN_SECRET": SECRET,
        "KAA_PSEUDONYM_KEY": "unit-pseudonym-key-0123456789",
        "KAA_MASTER_KEY": "unit-master-key-0123456789abcdef",
        "KAA_TENANTS": tenants,
        **({"KAA_TODAY": today} if today else {}),
    }.items():
        patch.setenv(name, value)
    try:
        settings = ServiceSettings()
        yield {
            service: TestClient(
                importlib.import_module(f"services.{service}.bootstrap").create_app(settings),
                raise_server_exceptions=False,
            )
            for service in services
        }
    finally:
        patch.undo()


def bearer(*roles: str, tenant: str = "0180", **extra: Any) -> dict[str, str]:
    token = issue_token(SECRET, subject="unit", tenant=tenant, roles=list(roles), **extra)
    return {"Authorization": f"Bearer {token}"}
