"""The operator's and the consortium administrator's use cases: what their pages read.

Drift reads the platform (`adapters/platform.py`: health, lag, dead letters, the store's counters,
the connect service) and the register's dead events with the operator's own token, all at once;
what cannot be read now is named on the page rather than failing it. Konsortiet reads the
deployment's members and the measures service's catalogue as the administrator's token sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.web.adapters.platform import Health, Platform, Store, Unreadable
from services.web.adapters.services_api import Refused, ServicesApi, Unavailable
from services.web.adapters.sessions import Session
from services.web.domain import operations as shown
from shared.messaging.dead_letters import DeadLetterSummary
from shared.messaging.lag import PartitionLag

T = TypeVar("T")
UPGRADE = "register upgrade:"  # how the register's /health says it is rebuilding


async def _read(what: str, work: Awaitable[T], missing: list[str]) -> T | None:
    """The read's result, or None with `what` noted as not readable now."""
    try:
        return await work
    except Unreadable as unreadable:
        missing.append(unreadable.what)
    except (Refused, Unavailable):
        missing.append(what)
    return None


async def _dead_events(api: ServicesApi, user: Session) -> list[dict[str, Any]]:
    found = await api.call("register", "GET", "/v1/dead-events", user.token, user.tenant)
    return list(found.get("items") or [])


def _lag(read: list[PartitionLag]) -> list[shown.GroupLag]:
    return shown.groups_of([
        (p.service, p.group, shown.LagRow(p.topic, p.partition, p.committed, p.end, p.lag))
        for p in read
    ])  # fmt: skip


def _rebuild(store: Store | None, health: list[Health]) -> shown.Rebuild | None:
    upgrading = next(
        (p.removeprefix(UPGRADE).strip() for h in health if h.service == "register"
         for p in h.problems if p.startswith(UPGRADE)),
        None,
    )  # fmt: skip
    if store is None and upgrading is None:
        return None
    version = store.projection_version if store else None
    return shown.Rebuild(version, shown.when(store.rebuilt_at if store else None), upgrading)


def _retention(platform: Platform, store: Store | None) -> list[shown.RetentionRow] | None:
    if store is None:
        return None
    rows = []
    for member in platform.members():
        last = store.retention.get(member.kommunkod)
        days = member.retention_days or shown.DEFAULT_RETENTION_DAYS
        rows.append(shown.RetentionRow(member.kommunkod, member.name, days,
                                       shown.when(last[0]) if last else "Ingen ännu",
                                       last[1] if last else 0))  # fmt: skip
    return rows


def _dead_letters(read: list[DeadLetterSummary]) -> list[shown.DeadLetterRow]:
    return [shown.DeadLetterRow(d.topic, d.count, list(d.latest)) for d in read]


async def drift(
    api: ServicesApi, platform: Platform, user: Session, now: datetime | None = None
) -> shown.Drift:
    """The operator's page: every read at once, each on its own deadline."""
    missing: list[str] = []
    health, lag, letters, store, dead, connectors = await asyncio.gather(
        platform.health(),
        _read("lag", platform.consumer_lag(), missing),
        _read("dead-letters", platform.dead_letters(), missing),
        _read("store", platform.store(), missing),
        _read("dead-events", _dead_events(api, user), missing),
        _read("connectors", platform.connectors(user.token, user.tenant), missing),
    )
    try:
        interval = shown.duration(platform.settings().retention_interval)
        retention = _retention(platform, store)
    except Unreadable:
        missing.append("settings")
        interval, retention = "–", None
    return shown.Drift(
        checked_at=shown.when(now or datetime.now(UTC)),
        tenant=user.tenant,
        health=[shown.health_shown(h.service, h.status, h.problems) for h in health],
        lag=_lag(lag) if lag is not None else None,
        outboxes=None if store is None else [
            shown.OutboxRow(shown.SERVICE_NAMES.get(o.service, o.service), o.recorded,
                            o.published, o.waiting) for o in store.outboxes
        ],
        dead_letters=_dead_letters(letters) if letters is not None else None,
        dead_events=None if dead is None else [shown.dead_event_shown(e) for e in dead],
        replay_waiting=shown.waiting_replay(dead or []),
        retention=retention,
        retention_interval=interval,
        rebuild=_rebuild(store, health),
        connectors=None if connectors is None else [
            shown.connector_shown(c) for c in connectors.get("organisers") or []
        ],
        connect_configured=platform.own.connect_url is not None,
        unreadable=[shown.UNREADABLE.get(w, w) for w in dict.fromkeys(missing)],
    )  # fmt: skip


async def consortium(api: ServicesApi, platform: Platform, user: Session) -> shown.Consortium:
    """The member municipalities (the deployment's settings) and the catalogue the measures
    service offers the administrator's municipality, the consortium's shared entries first."""
    try:
        entries = await api.call("measures", "GET", "/v1/catalogue", user.token, user.tenant)
        catalogue = shown.catalogue_shown(list(entries.get("entries") or []))
    except Unavailable:
        catalogue = None
    try:
        members = [shown.member_shown(m.kommunkod, m.name, m.scope_policy, m.retention_days)
                   for m in platform.members()]  # fmt: skip
        name = platform.consortium_name
    except Unreadable:
        members, name = None, None
    return shown.Consortium(name, members, catalogue)
