"""One loop per (municipality, organiser): sync, then wait for a callback or the poll interval;
after a failure wait as `retry_delay` says (jittered backoff, the organiser's Retry-After, a
longer pause when credentials are refused) while every other organiser goes on. A loop never
ends on a failure: the operator sees it in `GET /v1/connectors` and `kaa connect status`."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from services.connect.adapters.ss12000 import Ss12000Error
from services.connect.commands.sync import OrganiserSync
from services.connect.domain.organisers import CREDENTIALS_RETRY, retry_delay

log = structlog.get_logger(__name__)
SUBSCRIPTION_RETRY = timedelta(minutes=10)


class OrganiserLoop:
    def __init__(self, sync: OrganiserSync, public_url: str | None) -> None:
        self.sync = sync
        self.public_url = public_url
        self.wanted = asyncio.Event()  # set by a callback: fetch what changed now
        self.failures = 0

    @property
    def name(self) -> str:
        return f"ss12000 {self.sync.tenant} {self.sync.organiser.id}"

    def callback(self) -> None:
        self.wanted.set()

    async def run(self) -> None:
        interval = self.sync.organiser.poll_interval
        while True:
            self.wanted.clear()
            renew_at = await self._subscription()
            try:
                await self.sync.sync()
                self.failures = 0
                wait = interval
                if renew_at is not None:
                    wait = min(wait, max(1.0, (renew_at - datetime.now(UTC)).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recorded; the loop goes on
                self.failures += 1
                wait = self._delay(exc)
                if not isinstance(exc, Ss12000Error):
                    log.exception("ss12000: sync failed", loop=self.name)
                else:
                    log.warning("ss12000: sync failed", loop=self.name, problem=str(exc),
                                retry_in=round(wait, 1))  # fmt: skip
                with contextlib.suppress(Exception):
                    await self.sync.failed(exc, wait)
                await asyncio.sleep(wait)  # kept even when a callback comes; then try again
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wanted.wait(), timeout=wait)

    async def _subscription(self) -> datetime | None:
        """Keep the subscription; one the organiser refuses leaves polling alone (said to the
        operator, tried again in ten minutes), never the sync."""
        try:
            renew_at = await self.sync.keep_subscription(self.public_url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # recorded; the sync goes on
            problem = str(exc) if isinstance(exc, Ss12000Error) else type(exc).__name__
            log.warning("ss12000: no subscription; polling", loop=self.name, problem=problem)
            with contextlib.suppress(Exception):
                await self.sync.subscription_refused(problem)
            return datetime.now(UTC) + SUBSCRIPTION_RETRY
        return renew_at

    def _delay(self, exc: Exception) -> float:
        if isinstance(exc, Ss12000Error) and exc.credentials:
            return CREDENTIALS_RETRY
        retry_after = exc.retry_after if isinstance(exc, Ss12000Error) else None
        return retry_delay(self.failures, retry_after, random.random)


def organiser_loops(loops: list[OrganiserLoop]) -> dict[str, Callable[[], Awaitable[None]]]:
    return {loop.name: loop.run for loop in loops}
