"""What an SS 12000 test server holds: persons, deletions, page cursors, subscriptions and tokens.

One lock guards all of it (the server's request threads and the test's thread both touch it). A
listing's first request takes a snapshot of the matching ids, in (meta.modified, id) order, and
keeps it under the page tokens it hands out: paging is stable while the data changes, and a page
token can be asked again (a client retrying after a 503 gets the same page).
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# openapi.yml's DeletedEntities keys, per EndPointsEnum value (sic: "activitites")
DELETED_KEYS = {
    "Person": "persons",
    "Organisation": "organisations",
    "Group": "groups",
    "Activity": "activitites",
    "Duty": "duties",
}
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100


def iso(moment: datetime) -> str:
    """RFC 3339 with microseconds, in UTC ("Z"): exact, so a client's "on or after" is too."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_moment(text: str) -> datetime:
    """An RFC 3339 date-time with an offset; ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("date-time without an offset")
    return moment


class NotFound(LookupError):
    pass


@dataclass
class Cursor:
    kind: str  # "persons" or "deleted"
    ids: list[str]  # the snapshot, shared by every page token of one listing
    offset: int
    limit: int
    keys: tuple[str, ...] = ()  # deleted: the DeletedEntities keys asked for


@dataclass(frozen=True)
class Page:
    items: list[Any]  # persons (the stored dicts: never mutated, replaced) or deleted ids
    next_token: str | None
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filters:
    created_after: datetime | None = None
    created_before: datetime | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None


class Store:
    def __init__(self, *, subscription_ttl: timedelta, token_ttl: timedelta) -> None:
        self.lock = threading.Lock()
        self.subscription_ttl = subscription_ttl
        self.token_ttl = token_ttl
        self.offset = timedelta()  # the server's clock: real time + offset (advance())
        self.persons: dict[str, dict[str, Any]] = {}
        self.created: dict[str, datetime] = {}
        self.modified: dict[str, datetime] = {}
        self.deletions: list[tuple[datetime, str, str]] = []  # (at, entity type, id)
        self.cursors: dict[str, Cursor] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, datetime] = {}  # access token -> expiry

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    # -- persons ---------------------------------------------------------------------------------

    def put(self, persons: list[dict[str, Any]], modified: datetime | None) -> None:
        """Stores copies (a date in the caller's dict becomes its ISO string, as JSON has it)."""
        for person in persons:
            if not isinstance(person.get("id"), str):
                raise ValueError("person: id must be a string")
        copies: list[dict[str, Any]] = orjson.loads(orjson.dumps(persons))
        with self.lock:
            at = modified or self.now()
            for stored in copies:
                pid: str = stored["id"]
                created = self.created.get(pid, at)
                stored["meta"] = {"created": iso(created), "modified": iso(at)}
                self.persons[pid] = stored
                self.created[pid] = created
                self.modified[pid] = at

    def delete(self, person_id: str, at: datetime | None) -> None:
        with self.lock:
            if person_id not in self.persons:
                raise KeyError(f"no person with id {person_id} on this server")
            del self.persons[person_id], self.created[person_id], self.modified[person_id]
            self.deletions.append((at or self.now(), "Person", person_id))

    def first_persons(self, filters: Filters, limit: int) -> Page:
        with self.lock:
            ids = [pid for pid in self.persons if self._matches(pid, filters)]
            ids.sort(key=lambda pid: (self.modified[pid], pid))
            return self._page(Cursor("persons", ids, 0, limit))

    def _matches(self, pid: str, f: Filters) -> bool:
        created, modified = self.created[pid], self.modified[pid]
        return not (
            (f.created_after is not None and created < f.created_after)
            or (f.created_before is not None and created > f.created_before)
            or (f.modified_after is not None and modified < f.modified_after)
            or (f.modified_before is not None and modified > f.modified_before)
        )

    def person(self, pid: str) -> dict[str, Any]:
        with self.lock:
            if pid not in self.persons:
                raise NotFound(pid)
            return self.persons[pid]

    # -- deletions -------------------------------------------------------------------------------

    def first_deleted(self, after: datetime | None, entities: list[str], limit: int) -> Page:
        keys = (
            tuple(DELETED_KEYS[e] for e in entities) if entities else tuple(DELETED_KEYS.values())
        )
        with self.lock:
            found = sorted(
                (at, pid)
                for at, kind, pid in self.deletions
                if DELETED_KEYS[kind] in keys and (after is None or at >= after)
            )
            ids = list(dict.fromkeys(pid for _, pid in found))
            return self._page(Cursor("deleted", ids, 0, limit, keys))

    # -- paging ----------------------------------------------------------------------------------

    def next_page(self, kind: str, token: str, limit: int | None) -> Page:
        with self.lock:
            cursor = self.cursors.get(token)
            if cursor is None or cursor.kind != kind:
                raise NotFound(token)
            if limit is not None:
                cursor = Cursor(cursor.kind, cursor.ids, cursor.offset, limit, cursor.keys)
            return self._page(cursor)

    def _page(self, cursor: Cursor) -> Page:
        """Called under the lock."""
        end = cursor.offset + cursor.limit
        chosen = cursor.ids[cursor.offset : end]
        if cursor.kind == "persons":
            # A person deleted since the snapshot is left out (it is in /deletedEntities now).
            items: list[Any] = [self.persons[p] for p in chosen if p in self.persons]
        else:
            items = chosen
        next_token = None
        if end < len(cursor.ids):
            next_token = secrets.token_urlsafe(16)
            self.cursors[next_token] = Cursor(
                cursor.kind, cursor.ids, end, cursor.limit, cursor.keys
            )
        return Page(items, next_token, cursor.keys)

    # -- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, name: str, target: str, resource_types: list[Any]) -> dict[str, Any]:
        with self.lock:
            sid = str(uuid.uuid4())
            subscription: dict[str, Any] = {
                "id": sid,
                "name": name,
                "target": target,
                "resourceTypes": resource_types,
                "expires": iso(self.now() + self.subscription_ttl),
            }
            self.subscriptions[sid] = subscription
            return dict(subscription)

    def renew(self, sid: str, asked: datetime | None) -> dict[str, Any]:
        """expires = now + ttl, never later than asked. An expired subscription is gone: 404."""
        with self.lock:
            subscription = self.subscriptions.get(sid)
            now = self.now()
            if subscription is None or parse_moment(subscription["expires"]) <= now:
                raise NotFound(sid)
            expires = now + self.subscription_ttl
            if asked is not None:
                expires = min(expires, asked)
            subscription["expires"] = iso(expires)
            return dict(subscription)

    def unsubscribe(self, sid: str) -> None:
        with self.lock:
            if self.subscriptions.pop(sid, None) is None:
                raise NotFound(sid)

    def live_subscriptions(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.now()
            return [
                dict(s) for s in self.subscriptions.values() if parse_moment(s["expires"]) > now
            ]

    # -- tokens ----------------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = self.now() + self.token_ttl
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
            return expires is not None and expires > self.now()
