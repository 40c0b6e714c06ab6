"""What the outage and rolling-restart tests share: a PostgreSQL server of their own (the launcher's
is everyone's and is never killed), the services' health answers, and a caseworker client that
retries a command with its client id as a real one would."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from kaa.deployment import Deployment, free_port
from kaa.dev.launcher import InfraSettings, processes
from kaa.dev.launcher.postgres import PostgresServer
from tests.conftest import RunningInfra
from tests.e2e.conftest import TODAY

FOUR = ("identify", "outreach", "measures", "register")


class OwnPostgres:
    """A PostgreSQL server of the test's own on a free port, that can be killed and restarted on
    the same data directory and port."""

    def __init__(self, home: Path) -> None:
        settings = InfraSettings(
            home=home, postgres_port=free_port(), kafka_bootstrap_servers=None, database_url=None
        )
        self.server = PostgresServer(settings)
        self.home = home
        self.pid: int | None = None

    def start(self) -> None:
        self.pid = self.server.start()

    def kill(self) -> None:
        """SIGKILL the server and its backends at once (its session: the machine's crash)."""
        assert self.pid is not None
        os.killpg(self.pid, signal.SIGKILL)
        processes.wait_gone(self.pid, 10.0)
        self.pid = None

    def url(self) -> str:
        return self.server.url()

    def cleanup(self) -> None:
        if self.pid is not None:
            self.server.stop(self.pid)
        import shutil

        shutil.rmtree(self.server.data_dir.parent, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def own_postgres(infra: RunningInfra) -> Iterator[OwnPostgres]:
    # Under the session's home, which the postgres system user can reach when we run as root.
    home = infra.infrastructure.settings.home / "test-instances" / f"pg-{uuid.uuid4().hex[:8]}"
    server = OwnPostgres(home)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def deployment_on(infra: RunningInfra, database_url: str, logs: Path) -> Deployment:
    """A fresh deployment (small batches: the stream lasts) on the given PostgreSQL server."""
    made = Deployment(
        name=f"e2e-{uuid.uuid4().hex[:10]}",
        bootstrap_servers=infra.bootstrap_servers,
        admin_database_url=database_url,
        logs_dir=logs,
        tenants=("0180",),
        today=TODAY,
        batch_size=40,
        feed_sources=None,
    )
    asyncio.run(made.reset())
    return made


def health(deployment: Deployment, name: str, path: str) -> tuple[int, dict[str, Any]]:
    """A service's answer on a health path (status, body); (0, {}) when it does not answer."""
    assert deployment.platform is not None
    try:
        answer = httpx.get(f"{deployment.platform.url(name)}{path}", timeout=5.0)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails naming `what` after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def summary(deployment: Deployment) -> dict[str, int]:
    with deployment.client("register", "0180", "caseworker") as client:
        result: dict[str, int] = client.get("/v1/summary").json()
        return result


def youths_in_scope(deployment: Deployment, limit: int) -> list[str]:
    with deployment.client("register", "0180", "caseworker") as register:
        items = register.get("/v1/youths", params={"status": "in_scope", "limit": limit}).json()
    return [youth["youth_id"] for youth in items["items"]]


class RetryingCaseworker:
    """Records contact attempts, each with its own client id, retried with the same id on a
    connection error or a 503 (what a real client does); counts what it had to retry."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.retried = 0
        self.recorded: list[str] = []
        self.errors: list[str] = []

    def contact_attempt(self, youth_id: str, deadline_s: float = 120.0) -> None:
        body = {
            "channel": "sms",
            "outcome": "not_reached",
            "attempted_at": f"{TODAY.isoformat()}T10:00:00+01:00",
            "contact_attempt_id": str(uuid.uuid4()),
        }
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            try:
                with self.deployment.client("outreach", "0180", "caseworker") as outreach:
                    answer = outreach.post(f"/v1/youths/{youth_id}/contact-attempts", json=body)
            except httpx.HTTPError:
                self.retried += 1
                time.sleep(0.5)
                continue
            if answer.status_code == 503:
                self.retried += 1
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            if answer.status_code not in (200, 201):
                self.errors.append(f"{answer.status_code} {answer.text[:200]}")
            else:
                self.recorded.append(body["contact_attempt_id"])
            return
        self.errors.append("no answer within the deadline")


def log_lines(logs: Path, since: dict[str, int]) -> dict[str, list[str]]:
    """Each service's log lines written after the byte offsets in `since`."""
    found = {}
    for name, offset in since.items():
        with (logs / f"{name}.log").open("rb") as log:
            log.seek(offset)
            found[name] = log.read().decode("utf-8", "replace").splitlines()
    return found


def log_sizes(logs: Path, names: tuple[str, ...] = FOUR) -> dict[str, int]:
    return {name: (logs / f"{name}.log").stat().st_size for name in names}
