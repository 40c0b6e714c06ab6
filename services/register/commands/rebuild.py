"""Rebuild the register from the event topics beside the live one, and verify a register against
another (the register is a projection: everything in it follows from the events on the topics)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from services.register.adapters import fingerprint
from services.register.adapters.database import CONTENT_TABLES, SCHEMA
from services.register.adapters.topics import REBUILD_SCHEMA, RebuildResult, project_topics

Progress = Callable[[int, int], None]


async def rebuild(
    bootstrap_servers: str,
    database_url: str,
    namespace: str,
    tenants: Collection[str],
    schema: str = REBUILD_SCHEMA,
    progress: Progress | None = None,
    recorded_by: datetime | None = None,
) -> RebuildResult:
    """Project every event on the topics afresh into `schema` beside the live register (dropped
    first if it exists); with `recorded_by`, only the events recorded by then."""
    return await project_topics(
        bootstrap_servers, database_url, namespace, tenants, schema, progress, recorded_by
    )


async def verify(
    database_url: str, live: str, other: str
) -> dict[str, tuple[tuple[int, str], ...]]:
    """The tables whose content differs between two registers (empty: identical)."""
    left = await fingerprint.content_hashes(database_url, live)
    right = await fingerprint.content_hashes(database_url, other)
    return {t: (left[t], right[t]) for t in CONTENT_TABLES if left[t] != right[t]}


@dataclass(frozen=True)
class Verification:
    """The live register compared with another, and what the live one could not apply."""

    live: dict[str, tuple[int, str]]
    other: dict[str, tuple[int, str]]
    dead: int
    waiting: int
    orphans: int

    @property
    def differ(self) -> list[str]:
        return [t for t in CONTENT_TABLES if self.live[t] != self.other[t]]


async def verification(database_url: str, against: str) -> Verification:
    """`kaa register verify`: both registers' fingerprints, the live register's parked events and
    casework waiting for its youth, and its youths with casework but no scope episode."""
    live = await fingerprint.content_hashes(database_url, SCHEMA)
    other = await fingerprint.content_hashes(database_url, against)
    dead, waiting = await fingerprint.dead_event_count(database_url)
    orphans = await fingerprint.orphan_youths(database_url)
    return Verification(live, other, dead, waiting, orphans)
