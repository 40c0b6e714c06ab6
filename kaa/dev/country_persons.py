"""The synthetic country's persons: each one's baseline, month of changes and school
notifications, written to the feed files as they are made, with what the register must then
hold of them (`kaa.dev.country` has the whole). Development only."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from kaa.dev.country_places import KOMMUNKODER
from kaa.dev.country_rules import (
    UPPER_SECONDARY,
    Enrolment,
    in_scope_on,
    scope_reason,
    twentieth_birthday,
    years_after,
)
from kaa.dev.synthetic_feeds import FAMILY, GIVEN, STREETS
from shared import personnummer

DAYS = 30  # the month of daily changes: day 1 … day 30 (today); day 0 is the baseline extract


@dataclass(frozen=True)
class Shares:
    """How likely each thing is for one person (defaults near the country's)."""

    not_enrolled: float = 0.05  # past compulsory school and under 20, not in gymnasieskola
    dated: float = 0.75  # an enrolment given with its startDate (SS 12000:2020), else undated
    dropout: float = 0.01  # an enrolment ends during the month (an SS 12000 change)
    starts: float = 0.05  # one not enrolled starts during the month (an SS 12000 change)
    moves: float = 0.01  # moves to another municipality during the month
    address: float = 0.02  # a new address in the same municipality during the month
    left_notified: float = 0.005  # a school notifies that an enrolled student left
    start_notified: float = 0.02  # a school notifies that one not enrolled started
    protected: float = 0.01  # skyddad folkbokföring: no address


@dataclass
class Country:
    """What `generate_country` wrote, and what the register must hold after it."""

    directory: Path
    persons: int
    today: date
    municipalities: tuple[str, ...] = KOMMUNKODER
    population_records: int = 0
    ss12000_records: int = 0
    notifications: int = 0
    expected_after_feeds: dict[str, int] = field(default_factory=dict)
    expected_in_scope: dict[str, int] = field(default_factory=dict)

    def files(self, feed: str) -> list[Path]:
        """The feed's files (`population` or `ss12000`) in the order they are published."""
        return sorted((self.directory / feed).glob("*.jsonl"))

    @property
    def notifications_file(self) -> Path:
        return self.directory / "notifications.jsonl"

    @property
    def expected_file(self) -> Path:
        """Per person: `personnummer`, `home`, `after_feeds` and `in_scope` (the municipality
        where in scope, or None) and `why` (what the month did to them, and the rule's reason)."""
        return self.directory / "expected.jsonl"


class Files:
    """The open feed files: one per feed and day, and the notifications."""

    def __init__(self, stack: ExitStack, directory: Path) -> None:
        self.handles: dict[tuple[str, int], IO[str]] = {}
        for feed in ("population", "ss12000"):
            (directory / feed).mkdir(parents=True, exist_ok=True)
            for day in range(DAYS + 1):
                name = "00-baseline.jsonl" if day == 0 else f"day-{day:02d}.jsonl"
                self.handles[feed, day] = stack.enter_context((directory / feed / name).open("w"))
        self.notifications = stack.enter_context((directory / "notifications.jsonl").open("w"))
        self.expected = stack.enter_context((directory / "expected.jsonl").open("w"))

    def write(self, feed: str, day: int, envelope: dict[str, Any]) -> None:
        self.handles[feed, day].write(json.dumps(envelope) + "\n")

    def expect(self, expectation: dict[str, Any]) -> None:
        self.expected.write(json.dumps(expectation) + "\n")


class Person:
    """One person's baseline, month and notifications, written as they are made."""

    def __init__(
        self, rng: random.Random, country: Country, home: str, used: set[str], shares: Shares
    ) -> None:
        self.rng, self.country, self.home, self.shares = rng, country, home, shares
        today = country.today
        self.extract = today - timedelta(days=DAYS)
        earliest = years_after(today, -21) + timedelta(days=1)
        latest = years_after(today, -15)  # 15 today
        self.born = earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))
        number = personnummer.generate(self.born, rng)
        while number in used:
            number = personnummer.generate(self.born, rng)
        used.add(number)
        self.number = number
        self.given, self.family = rng.choice(GIVEN), rng.choice(FAMILY)
        self.person_id = self._uuid()
        self.protected = rng.random() < shares.protected
        self.registered = self.born
        if rng.random() < 0.2:  # moved in some day between birth and the extract
            self.registered += timedelta(days=rng.randrange((self.extract - self.born).days + 1))
        self.enrolments = self._baseline_enrolments()
        listed = "; ".join(e.describe() for e in self.enrolments) or "none"
        self.story = [f"baseline in {home}: enrolments {listed}"]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, number: int) -> date:
        return self.extract + timedelta(days=number)

    def _baseline_enrolments(self) -> list[Enrolment]:
        rng, today, extract = self.rng, self.country.today, self.extract
        if today <= date(self.born.year + 16, 6, 30):  # still in compulsory school
            return [Enrolment("GR", self._uuid(), extract, year=9)]
        if today >= twentieth_birthday(self.born):  # 20: their gymnasieskola is behind them
            started = date(self.born.year + 16, 8, 20)
            ended = min(date(self.born.year + 19, 6, 15), extract)
            return [Enrolment("GY", self._uuid(), extract, start=started, end=ended,
                               education_code="SA")]  # fmt: skip
        if rng.random() < self.shares.not_enrolled:
            roll = rng.random()
            if roll < 0.4:  # dropped out: the enrolment was cancelled
                return [Enrolment("GY", self._uuid(), extract, cancelled=True,
                                   education_code="EK")]  # fmt: skip
            if roll < 0.7:  # an enrolment that ended before the extract
                ended = extract - timedelta(days=rng.randint(1, 300))
                started = min(ended, date(self.born.year + 16, 8, 20))
                return [Enrolment("GY", self._uuid(), extract, start=started, end=ended,
                                   education_code="SA")]  # fmt: skip
            return []  # never started upper-secondary school
        school_type = "GYS" if rng.random() < 0.03 else "GY"
        code = "IMPRO" if rng.random() < 0.05 else rng.choice(("NA", "SA", "EK", "TE", "BF"))
        start = None
        if rng.random() < self.shares.dated:
            year = extract.year if extract >= date(extract.year, 8, 20) else extract.year - 1
            start = date(year, 8, 20)
        return [Enrolment(school_type, self._uuid(), extract, start=start,
                           education_code=code, year=rng.randint(1, 3))]  # fmt: skip

    def eligible(self) -> bool:
        """Under 20 and past compulsory school today, whatever the enrolments."""
        today = self.country.today
        return in_scope_on(self.born, [], today)

    def open_enrolment(self) -> Enrolment | None:
        """The gymnasieskola enrolment current today and without an end, if any."""
        return next(
            (e for e in self.enrolments
             if e.school_type in UPPER_SECONDARY and e.end is None
             and e.current_on(self.country.today)),
            None,
        )  # fmt: skip

    def in_scope(self) -> bool:
        return in_scope_on(self.born, self.enrolments, self.country.today)

    def reason(self) -> str:
        return scope_reason(self.born, self.enrolments, self.country.today)

    # -- what is written ---------------------------------------------------------------------

    def envelope(self, feed: str, tenant: str, day: int, **body: object) -> dict[str, object]:
        observed = datetime.combine(self.day(day), datetime.min.time(), tzinfo=UTC)
        return {
            "feed": feed,
            "schema_version": 1,
            "record_id": self._uuid(),
            "tenant": tenant,
            "observed_at": observed.isoformat(),
            **body,
        }

    def population(
        self, kommunkod: str, change: str, day: int, since: date | None
    ) -> dict[str, Any]:
        rng = self.rng
        address = None
        if not self.protected:
            address = {
                "street": f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
                "postal_code": f"{rng.randint(100, 989)} {rng.randint(10, 99)}",
                "city": f"Kommun {kommunkod}",
            }
        return {
            "personnummer": self.number,
            "given_name": self.given,
            "family_name": self.family,
            "address": address,
            "kommunkod": kommunkod,
            "birth_date": self.born.isoformat(),
            "protection_marking": self.protected,
            "change_type": change,
            "effective_date": self.day(day).isoformat(),
            "registered_in_municipality_on": since.isoformat() if since else None,
        }

    def school_person(self) -> dict[str, Any]:
        return {
            "id": self.person_id,
            "givenName": self.given,
            "familyName": self.family,
            "civicNo": {"value": self.number, "nationality": "SE"},
            "enrolments": [e.ss12000() for e in self.enrolments],
        }

    def write(self, files: Files, pick: Callable[[], str]) -> None:
        """The baseline, at most one school change and one population change during the month,
        and for a person the month left alone, perhaps a school's notification."""
        country, home = self.country, self.home
        record = self.population(home, "baseline", 0, self.registered)
        files.write("population", 0, self.envelope("population", home, 0, record=record))
        files.write("ss12000", 0, self.envelope("ss12000", home, 0, person=self.school_person()))
        country.population_records += 1
        country.ss12000_records += 1
        changed = self._school_change(files) | self._population_change(files, pick)
        after_feeds = self.in_scope()
        self.story.append(f"after the feeds: {self.reason()}")
        if not changed:
            self._notification(files)
        final = self.in_scope()
        for expected, now in ((country.expected_after_feeds, after_feeds),
                              (country.expected_in_scope, final)):  # fmt: skip
            expected[self.home] = expected.get(self.home, 0) + now
        self.story.append(f"after the notifications: {self.reason()}")
        files.expect({
            "personnummer": self.number, "home": self.home,
            "after_feeds": self.home if after_feeds else None,
            "in_scope": self.home if final else None, "why": self.story,
        })  # fmt: skip

    def _school_change(self, files: Files) -> bool:
        """An enrolment ends (a dropout) or begins (one not enrolled starts), on a day of the
        month; the organiser's SS 12000 record of that day lists the person's enrolments."""
        rng, shares = self.rng, self.shares
        enrolled = self.open_enrolment()
        if not self.eligible():
            return False
        if enrolled is not None and rng.random() < shares.dropout:
            day = rng.randint(1, DAYS)
            # A dated enrolment is listed with its last day; an undated one is no longer listed
            # (the platform ends it the day before the observation: the same day).
            if enrolled.start is not None:
                enrolled.end = self.day(day) - timedelta(days=1)
                self.story.append(
                    f"day {day} SS 12000 in {self.home}: ended, {enrolled.describe()}"
                )
            else:
                self.enrolments.remove(enrolled)
                self.story.append(
                    f"day {day} SS 12000 in {self.home}: undated one no longer listed"
                )
        elif enrolled is None and rng.random() < shares.starts:
            day = rng.randint(1, DAYS)
            started = Enrolment("GY", self._uuid(), self.day(day), start=self.day(day),
                                 education_code="NA", year=1)  # fmt: skip
            self.enrolments.append(started)
            self.story.append(f"day {day} SS 12000 in {self.home}: started, {started.describe()}")
        else:
            return False
        files.write("ss12000", day, self.envelope("ss12000", self.home, day,
                                                  person=self.school_person()))  # fmt: skip
        self.country.ss12000_records += 1
        return True

    def _population_change(self, files: Files, pick: Callable[[], str]) -> bool:
        """A move to another municipality (the old one is told `moved_out`, the new one
        `moved_in`) or a new address, on a day of the month."""
        rng, shares, home = self.rng, self.shares, self.home
        roll = rng.random()
        if roll < shares.moves:
            day = rng.randint(1, DAYS)
            there = pick()
            while there == home:
                there = pick()
            out = self.population(there, "moved_out", day, None)
            files.write("population", day, self.envelope("population", home, day, record=out))
            moved = self.population(there, "moved_in", day, self.day(day))
            files.write("population", day, self.envelope("population", there, day, record=moved))
            self.country.population_records += 2
            self.story.append(f"day {day} population: moved from {home} to {there}")
            self.home = there
            return True
        if roll < shares.moves + shares.address:
            day = rng.randint(1, DAYS)
            self.story.append(f"day {day} population: new address in {home}")
            record = self.population(home, "address_changed", day, self.registered)
            files.write("population", day, self.envelope("population", home, day, record=record))
            self.country.population_records += 1
            return True
        return False

    def _notification(self, files: Files) -> None:
        """The school tells the hemkommun a student left (the enrolment ends the day before),
        or that one not enrolled started."""
        rng, shares = self.rng, self.shares
        if not self.eligible():
            return
        enrolled = self.open_enrolment()
        day = rng.randint(1, DAYS)
        if enrolled is not None and rng.random() < shares.left_notified:
            kind, school_type, unit = "left", enrolled.school_type, enrolled.unit
            enrolled.end = self.day(day) - timedelta(days=1)
        elif enrolled is None and rng.random() < shares.start_notified:
            kind, school_type, unit = "started", "GY", self._uuid()
            self.enrolments.append(Enrolment("GY", unit, self.day(day), start=self.day(day)))
        else:
            return
        self.story.append(f"notification to {self.home}: {kind} {school_type} on {self.day(day)}")
        body = {
            "personnummer": self.number, "kind": kind, "on": self.day(day).isoformat(),
            "school_type": school_type, "school_unit": unit, "hemkommun": self.home,
            "notification_id": self._uuid(),
        }  # fmt: skip
        files.notifications.write(json.dumps({"tenant": self.home, "body": body}) + "\n")
        self.country.notifications += 1
