"""The population delivery watcher as the connect service runs it (KAA_POPULATION_DIR) and as
`kaa feed watch DIR` runs it, and what the operator view shows of it.

The bootstrap adds it as a background loop when the setting is given:

    if settings.population_dir is not None:
        loops.add("population-deliveries", delivery_loop(settings))

and can show `delivery_status()` (per directory: the last file loaded and when, the counts
loaded/skipped/quarantined, the last quarantine reason, a scan that failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from services.connect.adapters.deliveries import (
    DeliveryDirectory,
    DeliveryLedger,
    DeliveryPublisher,
)
from services.connect.commands.deliveries import DeliveryWatcher
from services.connect.domain.deliveries import DeliveryFeed, DirectoryStatus, ReadyRule
from shared.contracts.topics import FEED_BY_NAME
from shared.feed_adapter import FeedAdapter
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

SCAN_INTERVAL = 10.0  # seconds between scans of the population directory

# The watchers this process runs, by directory (the operator view reads their status).
_WATCHERS: dict[str, DeliveryWatcher] = {}


def watcher(
    settings: ServiceSettings,
    directory: Path,
    feed: DeliveryFeed = DeliveryFeed.population,
    rule: ReadyRule = ReadyRule.rename,
) -> DeliveryWatcher:
    """A watcher of `directory` publishing to the feed's topic of this deployment."""
    adapter = FeedAdapter(
        settings.kafka_bootstrap_servers,
        settings.database_url.get_secret_value(),
        settings.master_key.get_secret_value(),
        settings.pseudonym_key.get_secret_value(),
    )
    publisher = DeliveryPublisher(
        adapter, settings.topic(FEED_BY_NAME[feed.value]), source=feed.value
    )
    return DeliveryWatcher(
        DeliveryDirectory(directory),
        DeliveryLedger(settings.database_url.get_secret_value()),
        publisher,
        feed.value,
        rule,
    )


def delivery_loop(
    settings: ServiceSettings,
    *,
    interval: float = SCAN_INTERVAL,
    stop: asyncio.Event | None = None,
) -> Callable[[], Awaitable[None]]:
    """The background loop watching `settings.population_dir` (which must be set)."""
    if settings.population_dir is None:
        raise ValueError("population_dir: not set (KAA_POPULATION_DIR)")
    directory = settings.population_dir

    async def run() -> None:
        watching = watcher(settings, directory)
        _WATCHERS[str(directory)] = watching
        log.info("delivery_watch_started", directory=str(directory), feed=watching.feed)
        await watching.run(stop or asyncio.Event(), interval)

    return run


def delivery_status() -> list[dict[str, object]]:
    """A snapshot per watched directory (file names and counts, never content)."""
    return [_WATCHERS[key].status.snapshot() for key in sorted(_WATCHERS)]


def watched() -> list[DirectoryStatus]:
    return [_WATCHERS[key].status for key in sorted(_WATCHERS)]


async def delivery_problems() -> list[str]:
    """What /health can report (`loops.check(delivery_problems)`): a scan that failed."""
    return [
        f"population deliveries in {status.directory}: {status.last_error}"
        for status in watched()
        if status.last_error
    ]
