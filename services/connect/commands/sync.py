"""Keeping one organiser current: the first sync (every person, page by page), then deltas (what
changed since a little before the last complete sync began, and what was deleted since), each
ending with the organiser's watermark; and its subscription made and renewed.

A sync's records carry the instant it began as their `observed_at`, and its watermark says the
organiser is complete up to that instant. A sync that fails half-way publishes no watermark and
is begun again (the pages already published are repeats identify ignores). The records of a
delta are `live`: identify decides them at once, like a school's notification; those of the
first sync wait until every source of the municipality has reported (or the settle window).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from services.connect.adapters.publisher import FeedPublisher
from services.connect.adapters.ss12000 import Ss12000Client, Ss12000Error
from services.connect.adapters.state import ConnectState, token_hash
from services.connect.domain.organisers import (
    FULL_SYNC_EVERY,
    MIN_SUBSCRIPTION,
    OVERLAP,
    deleted_person,
    feed_line,
    to_publish,
)
from shared.connectors import Organiser

log = structlog.get_logger(__name__)
CALLBACK_PATH = "/v1/ss12000/callbacks/"


@dataclass(frozen=True)
class SyncResult:
    first: bool
    pages: int
    published: int
    skipped: int
    deleted: int
    complete_up_to: datetime


class OrganiserSync:
    """The use cases of one (municipality, organiser)."""

    def __init__(
        self,
        tenant: str,
        organiser: Organiser,
        client: Ss12000Client,
        state: ConnectState,
        publisher: FeedPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tenant = tenant
        self.organiser = organiser
        self.client = client
        self.state = state
        self.publisher = publisher
        self.clock = clock

    async def sync(self) -> SyncResult:
        """One sync: the first if the organiser never completed one; a full one (every person
        again, and any it no longer lists passed on as deleted) once a day; else a delta."""
        o, tenant = self.organiser, self.tenant
        status = await self.state.status(tenant, o.id)
        began, started = self.clock(), time.monotonic()
        first = status.last_complete_sync is None
        full = status.last_full_sync is None or began - status.last_full_sync >= FULL_SYNC_EVERY
        since = None if full or status.last_complete_sync is None else (
            status.last_complete_sync - OVERLAP
        )  # fmt: skip
        await self.state.update(tenant, o.id, syncing_since=began, pages_read=0, persons_read=0)
        listed: set[str] = set()
        pages = published = skipped = 0
        async for items in self.client.persons(since, o.page_size):
            ids = [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)]
            listed.update(ids)
            known = await self.state.known(tenant, o.id, ids)
            chosen, refs, left_out = to_publish(items, known, o.school_types, o.school_units)
            lines = [self._line(item, began, live=not first) for item in chosen]
            await self.publisher.publish(lines)
            await self.state.remember(tenant, o.id, refs)
            pages, published, skipped = pages + 1, published + len(lines), skipped + left_out
            await self.state.count(tenant, o.id, 1, len(lines))
        if since is not None:
            deleted = await self._deleted(await self.client.deleted_persons(since))
        else:  # a full listing: whom the organiser no longer lists is gone from it
            deleted = (
                0 if first else await self._deleted(await self.state.unlisted(tenant, o.id, listed))
            )
        await self.publisher.watermark(tenant, o.source, began)
        await self.state.update(
            tenant, o.id, last_complete_sync=began, syncing_since=None,
            last_sync_persons=published + deleted, last_sync_seconds=time.monotonic() - started,
            last_error=None, errors_in_a_row=0, next_attempt_at=None,
            **({"last_full_sync": began} if full else {}),
        )  # fmt: skip
        log.info(
            "ss12000: sync complete", tenant=tenant, organiser=o.id, first=first, full=full,
            pages=pages, published=published, not_read=skipped, deleted=deleted,
        )  # fmt: skip
        return SyncResult(first, pages, published, skipped, deleted, began)

    async def _deleted(self, person_ids: list[str]) -> int:
        """Pass on the persons the organiser deleted (or no longer lists) with no enrolments,
        observed now (after the sync's own records of them)."""
        if not person_ids:
            return 0
        o, tenant = self.organiser, self.tenant
        refs, lost = await self.state.deleted(tenant, o.id, person_ids)
        now = self.clock()
        await self.publisher.publish([self._line(deleted_person(r), now, live=True) for r in refs])
        await self.state.forget(tenant, o.id, person_ids)
        if lost:
            log.warning(
                "ss12000: deleted persons whose details retention destroyed were not passed on",
                tenant=tenant, organiser=o.id, count=lost,
            )  # fmt: skip
        return len(refs)

    def _line(self, item: object, observed_at: datetime, *, live: bool) -> bytes:
        return feed_line(
            item, tenant=self.tenant, source=self.organiser.source, observed_at=observed_at,
            live=live,
        )  # fmt: skip

    async def failed(self, error: Exception, retry_in: float) -> None:
        """Record a failure for the operator (the message names no personal data)."""
        o = self.organiser
        message = str(error) if isinstance(error, Ss12000Error) else (
            f"{o.name}: internal error ({type(error).__name__}); see the service's log"
        )  # fmt: skip
        status = await self.state.status(self.tenant, o.id)
        await self.state.update(
            self.tenant, o.id, last_error=message, last_error_at=self.clock(),
            errors_in_a_row=status.errors_in_a_row + 1, syncing_since=None,
            next_attempt_at=self.clock() + timedelta(seconds=retry_in),
        )  # fmt: skip

    async def keep_subscription(self, public_url: str | None) -> datetime | None:
        """Make the subscription, or renew it once half its time has passed; when it should be
        renewed next (None: no public address, polling only)."""
        if public_url is None:
            return None
        o, tenant = self.organiser, self.tenant
        status = await self.state.status(tenant, o.id)
        now = self.clock()
        if (
            status.subscription_id
            and status.subscription_expires
            and status.subscription_expires > now
        ):
            renewed = status.subscription_renewed_at or now
            due = renewed + (status.subscription_expires - renewed) / 2
            if due > now:
                return due
            try:
                expires = await self.client.renew(status.subscription_id)
            except Ss12000Error as exc:
                if exc.status != 404:
                    raise
            else:
                if expires - now < MIN_SUBSCRIPTION:
                    raise Ss12000Error(f"{o.name}: the renewed subscription expires within minutes")
                await self.state.update(
                    tenant, o.id, subscription_expires=expires, subscription_renewed_at=now,
                    subscription_error=None,
                )  # fmt: skip
                log.info("ss12000: subscription renewed", tenant=tenant, organiser=o.id)
                return now + (expires - now) / 2
        token = secrets.token_urlsafe(32)
        target = public_url.rstrip("/") + CALLBACK_PATH + token
        subscription_id, expires = await self.client.subscribe(f"kaa {tenant} {o.id}", target)
        if expires - now < MIN_SUBSCRIPTION:
            raise Ss12000Error(f"{o.name}: the organiser's subscription expires within minutes")
        await self.state.update(
            tenant, o.id, subscription_id=subscription_id, subscription_expires=expires,
            subscription_renewed_at=now, callback_token_hash=token_hash(token),
            subscription_error=None,
        )  # fmt: skip
        log.info("ss12000: subscribed", tenant=tenant, organiser=o.id)
        return now + (expires - now) / 2

    async def subscription_refused(self, problem: str) -> None:
        """The organiser would not keep a subscription: polling alone, said to the operator."""
        await self.state.update(self.tenant, self.organiser.id, subscription_error=problem)
