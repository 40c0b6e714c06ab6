"""Watching a directory for delivery files: each loaded exactly once (by its content's sha256 in
the ledger), then moved to done/; one that cannot be read to quarantine/ with its reason.

Crash-safe: the ledger says `loading` before the first record is published and `loaded` after
the watermark; a file whose content still says `loading` is loaded again (identify ignores the
records it has already seen), one that says `loaded` is skipped and moved to done/.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from services.connect.adapters.deliveries import (
    DeliveryDirectory,
    DeliveryLedger,
    DeliveryPublisher,
)
from services.connect.domain.deliveries import (
    VANISHED,
    DirectoryStatus,
    Outcome,
    ReadyRule,
    Taken,
    cannot_read,
    ready_deliveries,
)

log = structlog.get_logger(__name__)


@dataclass
class DeliveryWatcher:
    """One watched directory of one feed."""

    directory: DeliveryDirectory
    ledger: DeliveryLedger
    publisher: DeliveryPublisher
    feed: str
    rule: ReadyRule = ReadyRule.rename
    status: DirectoryStatus = field(init=False)

    def __post_init__(self) -> None:
        self.status = DirectoryStatus(str(self.directory.path), self.feed)

    async def scan(
        self, heard: Callable[[Taken], None] | None = None, stop: asyncio.Event | None = None
    ) -> list[Taken]:
        """Take every delivery that is ready now, in name order; `heard` hears each as it is
        done. A file that cannot be read never stops the others; `stop` ends the scan between
        two files."""
        taken: list[Taken] = []
        files = await asyncio.to_thread(self.directory.files)
        for name in ready_deliveries(files, self.rule):
            if stop is not None and stop.is_set():
                break
            one = await self.take(name)
            taken.append(one)
            self.status.note(one, datetime.now(UTC))
            if heard is not None:
                heard(one)
        self.status.last_scan_at = datetime.now(UTC)
        self.status.last_error = None
        return taken

    async def take(self, name: str) -> Taken:
        """Load, skip or quarantine one delivery. Errors of the platform (PostgreSQL or Kafka
        unreachable) propagate: the file stays where it is for the next scan."""
        try:
            seen = await asyncio.to_thread(self.directory.inspect, name)  # hashing: off the loop
        except FileNotFoundError:
            return self._quarantine(name, VANISHED)
        except OSError as exc:
            return self._quarantine(name, cannot_read(type(exc).__name__))
        where = str(self.directory.path)
        if seen.reason is not None:
            await self.ledger.quarantined(seen.content_hash, self.feed, where, name, seen.reason)
            return self._quarantine(name, seen.reason)
        earlier = await self.ledger.claim(seen.content_hash, self.feed, where, name)
        if earlier is not None and earlier.state == "loaded":
            moved = self.directory.done(name)
            log.info("delivery_skipped", file=name, moved_to=moved, earlier=earlier.file_name)
            return Taken(
                Outcome.skipped, name, moved, earlier_name=earlier.file_name,
                earlier_at=earlier.finished_at,
            )  # fmt: skip
        reloaded = earlier is not None and earlier.state == "loading"
        if reloaded:
            log.warning("delivery_reloading", file=name, reason="an earlier load was interrupted")
        records = await self.publisher.publish(self.directory.file(name))
        await self.ledger.loaded(seen.content_hash, records)
        moved = self.directory.done(name)
        log.info("delivery_loaded", file=name, records=records, moved_to=moved, feed=self.feed)
        return Taken(Outcome.loaded, name, moved, records=records, reloaded=reloaded)

    def _quarantine(self, name: str, reason: str) -> Taken:
        moved = self.directory.quarantine(name, reason)
        log.warning("delivery_quarantined", file=name, moved_to=moved, reason=reason)
        return Taken(Outcome.quarantined, name, moved, reason=reason)

    async def run(
        self,
        stop: asyncio.Event,
        interval: float,
        heard: Callable[[Taken], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        """Scan every `interval` seconds until `stop` is set. A scan that fails (the database or
        the broker unreachable, the directory gone) is noted and tried again at the next one."""
        while not stop.is_set():
            try:
                await self.scan(heard, stop)
            except Exception as exc:  # one failed scan never ends the watch
                problem = f"scan failed ({type(exc).__name__}); trying again in {interval:g} s"
                self.status.last_error = problem
                log.warning("delivery_scan_failed", directory=str(self.directory.path),
                            error=type(exc).__name__)  # fmt: skip
                if failed is not None:
                    failed(problem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
