"""Which persons differ when a national run's register does not hold what the country implies.

The national benchmark (bench/national.py) counts the youths in scope per municipality; when a
count differs this names the persons behind it, by pseudonymous ids only: for each differing
municipality, the persons the generator expects in scope there that identify has no open
episode for (short), those with an open episode the generator does not expect (over), and the
youth ids the register and identify disagree on. A few of them are explained: the generator's
story (`Country.expected_file`), identify's decision with its facts (as `kaa scope explain`
gives it) and the facts and episodes identify holds. Feed records identify dead-lettered are
counted by reason and named by person id, since a record that never reached the person is the
likeliest cause. Everything goes to a file in the run's private directory; the console gets the
path and numbers only (no personal data in logs).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer

from kaa.dev.country import Country
from services.identify.adapters.store import SCHEMA, IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain import Person
from services.identify.domain.person import TOPIC
from services.identify.domain.scope import TenantPolicy
from services.identify.entrypoints.cli import render_explanation
from shared.contracts.topics import COMPLETIONS_FEED, POPULATION_FEED, SS12000_FEED
from shared.contracts.topics import dead_letter_topic as dlq
from shared.eventstore import eventsourcing_env
from shared.messaging import partitions_of, stop_consumer
from shared.pseudonym import person_id, person_key

EXPLAINED = 5  # persons explained in full (the others are listed)
SCOPE_TOPICS = tuple(
    f"{TOPIC}.{name}" for name in ("ScopeEntered", "ScopeLeft", "RegisteredInError")
)


@dataclass(frozen=True)
class Where:
    """The deployment a run used: its database, Kafka and keys (never logged)."""

    database_url: str
    bootstrap_servers: str
    namespace: str
    pseudonym_key: str
    master_key: str
    today: date


@dataclass
class Found:
    """What differs, per municipality, and the dead letters."""

    short: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    over: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    register_only: dict[str, list[str]] = field(default_factory=dict)
    identify_only: dict[str, list[str]] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    dead_lettered: set[uuid.UUID] = field(default_factory=set)

    def summary(self) -> str:
        """Numbers only: safe for the console."""
        shorts = sum(len(v) for v in self.short.values())
        overs = sum(len(v) for v in self.over.values())
        split = sum(len(v) for v in (*self.register_only.values(), *self.identify_only.values()))
        letters = ", ".join(f"{n} '{r[:60]}'" for r, n in self.dead_letters.most_common()) or "0"
        return (
            f"{shorts} persons short and {overs} over (identify against the generator), "
            f"{split} youths where the register and identify disagree; feed records "
            f"dead-lettered by identify: {letters}"
        )


def _expected(country: Country, phase: str, key: str) -> Iterator[tuple[uuid.UUID, dict[str, Any]]]:
    with country.expected_file.open() as lines:
        for line in lines:
            person = json.loads(line)
            yield person_id(person_key(person["personnummer"], key)), person


def _open_episodes(store: IdentifyStore) -> dict[tuple[uuid.UUID, str], str]:
    """(person, municipality) -> youth id of every open scope episode, from identify's events."""
    opened: dict[tuple[uuid.UUID, str], str] = {}
    start: int | None = 1
    while start is not None:
        page = store.recorder.select_notifications(start, 5000, topics=SCOPE_TOPICS)
        for stored in page:
            event: Any = store.mapper.to_domain_event(stored)
            if stored.topic.endswith(".ScopeEntered"):
                opened[(event.originator_id, event.tenant)] = event.youth_id
            else:
                opened.pop((event.originator_id, event.tenant), None)
        start = page[-1].id + 1 if len(page) == 5000 else None
    return opened


def _register_in_scope(database_url: str, tenants: list[str]) -> dict[str, set[str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT tenant, youth_id::text FROM register.youths "
            "WHERE status = 'in_scope' AND tenant = ANY(%s)",
            (tenants,),
        ).fetchall()
    out: dict[str, set[str]] = {t: set() for t in tenants}
    for tenant, youth in rows:
        out[tenant].add(youth)
    return out


async def dead_letters(where: Where) -> list[tuple[str, uuid.UUID | None]]:
    """(reason, person id) of every feed record identify dead-lettered in the deployment."""
    topics = [
        dlq(f"{where.namespace}{t}") for t in (POPULATION_FEED, SS12000_FEED, COMPLETIONS_FEED)
    ]
    partitions = await partitions_of(where.bootstrap_servers, topics)
    out: list[tuple[str, uuid.UUID | None]] = []
    if not partitions:
        return out
    consumer = AIOKafkaConsumer(
        bootstrap_servers=where.bootstrap_servers, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    reason = dict(record.headers).get("kaa.dlq.reason", b"?").decode()
                    who = person_id(record.key.decode()) if record.key else None
                    out.append((reason, who))
    finally:
        await stop_consumer(consumer)
    return out


def find(where: Where, country: Country, phase: str, tenants: list[str]) -> Found:
    """The persons behind the differing counts of `tenants` (`phase`: `after_feeds` or
    `in_scope`, the expectation's field), and identify's dead letters."""
    found = Found()
    for reason, who in asyncio.run(dead_letters(where)):
        found.dead_letters[reason] += 1
        if who is not None:
            found.dead_lettered.add(who)
    expected: dict[str, set[uuid.UUID]] = {t: set() for t in tenants}
    for pid, person in _expected(country, phase, where.pseudonym_key):
        if person[phase] in expected:
            expected[person[phase]].add(pid)
    store = _store(where)
    try:
        opened = _open_episodes(store)
    finally:
        store.close()
    registered = _register_in_scope(where.database_url, tenants)
    for tenant in tenants:
        here = {pid: youth for (pid, t), youth in opened.items() if t == tenant}
        found.short[tenant] = sorted(expected[tenant] - here.keys())
        found.over[tenant] = sorted(here.keys() - expected[tenant])
        found.register_only[tenant] = sorted(registered[tenant] - set(here.values()))
        found.identify_only[tenant] = sorted(set(here.values()) - registered[tenant])
    return found


def _store(where: Where) -> IdentifyStore:
    env = eventsourcing_env(where.database_url, SCHEMA, create_table=False)
    return IdentifyStore(env, master_key=where.master_key)


def write_report(where: Where, country: Country, phase: str, found: Found, out: Path) -> Path:
    """The differing persons and a few explanations into `out` (a private directory)."""
    lines = [f"phase: {phase}; today: {where.today}", found.summary(), ""]
    for tenant in sorted(found.short):
        lines.append(f"== {tenant}")
        for label, ids in (("short", found.short[tenant]), ("over", found.over[tenant])):
            lines += [f"  {label}: person {pid}" + _lettered(found, pid) for pid in ids]
        lines += [f"  in the register only: youth {y}" for y in found.register_only[tenant]]
        lines += [f"  in identify only: youth {y}" for y in found.identify_only[tenant]]
    chosen = [
        (tenant, pid)
        for tenant in sorted(found.short)
        for pid in (*found.short[tenant], *found.over[tenant])
    ][:EXPLAINED]
    lines += ["", *_explanations(where, country, phase, chosen)]
    path = out / f"differences-{country.persons}-{phase}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _lettered(found: Found, pid: uuid.UUID) -> str:
    return " (a feed record of theirs was dead-lettered)" if pid in found.dead_lettered else ""


def _explanations(
    where: Where, country: Country, phase: str, chosen: list[tuple[str, uuid.UUID]]
) -> list[str]:
    wanted = {pid for _, pid in chosen}
    persons = {pid: p for pid, p in _expected(country, phase, where.pseudonym_key) if pid in wanted}
    commands = IdentifyCommands(
        _store(where), pseudonym_key=where.pseudonym_key,
        served={t: TenantPolicy() for t in country.municipalities},
    )  # fmt: skip
    lines: list[str] = []
    try:
        for tenant, pid in chosen:
            person = persons.get(pid)
            lines.append(f"== person {pid} in {tenant}")
            if person is None:
                lines.append("  not made by the generator")
                continue
            lines += [f"  generator: {step}" for step in person["why"]]
            explained = commands.explain(person["personnummer"], tenant, where.today)
            lines += [
                f"  identify: {line}" for line in render_explanation(explained, tenant, where.today)
            ]
            lines += [f"  held: {line}" for line in held_facts(commands.store.get_or_none(pid, {}))]
    finally:
        commands.store.close()
    return lines


def held_facts(person: Person | None) -> list[str]:
    """What identify holds for a person, without personal details: their registrations,
    enrolments (codes and dates) and scope episodes per municipality."""
    if person is None:
        return ["(identify does not know the person)"]
    lines = [
        f"registration from {r.since} in {r.kommunkod} ({r.change_type}, {r.status}, observed "
        f"{r.observed_at:%Y-%m-%d})"
        for r in person.registrations
    ]
    lines += [
        f"enrolment {e.school_type} start {e.start_date} end {e.end_date} observed {e.observed_on}"
        f"{' cancelled' if e.cancelled else ''}{f' notified to {e.notified_to}' if e.notified_to else ''}"
        for e in person.enrolments
    ]
    lines += [
        f"episodes in {tenant}: " + ", ".join(f"{e.entered_on}..{e.left_on or ''}" for e in spans)
        for tenant, spans in sorted(person.episodes.items())
    ]
    return lines
