"""A synthetic country for the national benchmark (development only; not in the wheel).

`generate_country` writes the feed files of all 290 municipalities: persons of 15–20 years, each
folkbokförd in one municipality (sizes follow a Zipf curve: Stockholm, Göteborg and Malmö first),
everyone in SS 12000 (the school records), then a month of daily changes (moves between
municipalities, address changes, enrolments ending and starting) and the school notifications
sent over the month. The shares are near the country's: about 95 % of those past compulsory
school and under 20 are enrolled in gymnasieskola, so a few per cent of the persons are in the
activity responsibility's scope.

Files are written as the persons are made (never a list of them): `population/` and `ss12000/`
hold `00-baseline.jsonl` and one file per day (`day-01.jsonl` … `day-30.jsonl`, observed that
day), to be published in name order; `notifications.jsonl` holds school notifications (the HTTP
body of identify's `/v1/school-notifications` and the municipality it is sent to). The generator
also counts, per municipality, the youths in scope on `today` after the feeds
(`expected_after_feeds`) and after the notifications too (`expected_in_scope`): what the
register must hold. `expected.jsonl` says the same per person (their personnummer, where they are
expected in scope and the story of why), so a run that ends with other counts can name the
persons who differ; it holds personnummer, so it stays in the run's private directory. Record shapes are those of `kaa.dev.synthetic_feeds`. Deterministic for a
seed; personnummer are synthetic but valid.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from kaa.dev.synthetic_feeds import FAMILY, GIVEN, STREETS
from shared import personnummer

# The 290 kommunkoder (SCB), in code order.
KOMMUNKODER: tuple[str, ...] = (
    "0114", "0115", "0117", "0120", "0123", "0125", "0126", "0127", "0128", "0136", "0138",
    "0139", "0140", "0160", "0162", "0163", "0180", "0181", "0182", "0183", "0184", "0186",
    "0187", "0188", "0191", "0192", "0305", "0319", "0330", "0331", "0360", "0380", "0381",
    "0382", "0428", "0461", "0480", "0481", "0482", "0483", "0484", "0486", "0488", "0509",
    "0512", "0513", "0560", "0561", "0562", "0563", "0580", "0581", "0582", "0583", "0584",
    "0586", "0604", "0617", "0642", "0643", "0662", "0665", "0680", "0682", "0683", "0684",
    "0685", "0686", "0687", "0760", "0761", "0763", "0764", "0765", "0767", "0780", "0781",
    "0821", "0834", "0840", "0860", "0861", "0862", "0880", "0881", "0882", "0883", "0884",
    "0885", "0980", "1060", "1080", "1081", "1082", "1083", "1214", "1230", "1231", "1233",
    "1256", "1257", "1260", "1261", "1262", "1263", "1264", "1265", "1266", "1267", "1270",
    "1272", "1273", "1275", "1276", "1277", "1278", "1280", "1281", "1282", "1283", "1284",
    "1285", "1286", "1287", "1290", "1291", "1292", "1293", "1315", "1380", "1381", "1382",
    "1383", "1384", "1401", "1402", "1407", "1415", "1419", "1421", "1427", "1430", "1435",
    "1438", "1439", "1440", "1441", "1442", "1443", "1444", "1445", "1446", "1447", "1452",
    "1460", "1461", "1462", "1463", "1465", "1466", "1470", "1471", "1472", "1473", "1480",
    "1481", "1482", "1484", "1485", "1486", "1487", "1488", "1489", "1490", "1491", "1492",
    "1493", "1494", "1495", "1496", "1497", "1498", "1499", "1715", "1730", "1737", "1760",
    "1761", "1762", "1763", "1764", "1765", "1766", "1780", "1781", "1782", "1783", "1784",
    "1785", "1814", "1860", "1861", "1862", "1863", "1864", "1880", "1881", "1882", "1883",
    "1884", "1885", "1904", "1907", "1960", "1961", "1962", "1980", "1981", "1982", "1983",
    "1984", "2021", "2023", "2026", "2029", "2031", "2034", "2039", "2061", "2062", "2080",
    "2081", "2082", "2083", "2084", "2085", "2101", "2104", "2121", "2132", "2161", "2180",
    "2181", "2182", "2183", "2184", "2260", "2262", "2280", "2281", "2282", "2283", "2284",
    "2303", "2305", "2309", "2313", "2321", "2326", "2361", "2380", "2401", "2403", "2404",
    "2409", "2417", "2418", "2421", "2422", "2425", "2460", "2462", "2463", "2480", "2481",
    "2482", "2505", "2506", "2510", "2513", "2514", "2518", "2521", "2523", "2560", "2580",
    "2581", "2582", "2583", "2584",
)  # fmt: skip

# The largest municipalities first, then the others in code order: with the Zipf weights
# Stockholm gets about 9 % of the persons, Göteborg 5 %, Malmö 4 %, the smallest 0.1 %.
LARGEST = ("0180", "1480", "1280", "0380", "0580", "1880", "1980", "0581", "1283", "0680")
ZIPF = 0.8
DAYS = 30  # the month of daily changes: day 1 … day 30 (today); day 0 is the baseline extract
UPPER_SECONDARY = ("GY", "GYS")
COMPULSORY = ("GR", "GRS", "SP", "SAM")


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


@dataclass
class _Enrolment:
    school_type: str
    unit: str
    observed: date  # first observed: an undated enrolment counts from then
    cancelled: bool = False
    start: date | None = None
    end: date | None = None
    education_code: str | None = None
    year: int | None = None

    def current_on(self, on: date) -> bool:
        """As the scope engine reads it (services/identify/domain/scope.py)."""
        if self.cancelled or (self.start or self.observed) > on:
            return False
        return self.end is None or self.end >= on

    def describe(self) -> str:
        """The enrolment in a few words (codes and dates only), for the expectation's story."""
        when = f"from {self.start}" if self.start else f"undated, seen {self.observed}"
        ends = f" to {self.end}" if self.end else ""
        return f"{self.school_type}{' cancelled' if self.cancelled else ''} {when}{ends}"

    def ss12000(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "enroledAt": {"id": self.unit, "displayName": "Skolenhet"},
            "schoolType": self.school_type,
            "cancelled": self.cancelled,
        }
        if self.year is not None:
            out["schoolYear"] = self.year
        if self.education_code is not None:
            out["educationCode"] = self.education_code
        if self.start is not None:
            out["startDate"] = self.start.isoformat()
        if self.end is not None:
            out["endDate"] = self.end.isoformat()
        return out


def twentieth_birthday(born: date) -> date:
    return _years_after(born, 20)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 2, 28)


IN_SCOPE = "in scope: under 20, compulsory school over, no current enrolment"


def scope_reason(born: date, enrolments: list[_Enrolment], on: date) -> str:
    """Why the person is or is not in scope on `on` where folkbokförd (`IN_SCOPE` if they are):
    under 20, compulsory school over (30 June of the year of 16), not in gymnasieskola (nor still
    in compulsory school). The persons made here have no completions and arrived at birth."""
    if on >= twentieth_birthday(born):
        return "not in scope: turned 20"
    if on <= date(born.year + 16, 6, 30):
        return "not in scope: compulsory school not over"
    schooled = UPPER_SECONDARY + COMPULSORY
    current = [e.school_type for e in enrolments if e.school_type in schooled and e.current_on(on)]
    return f"not in scope: enrolled in {','.join(current)}" if current else IN_SCOPE


def in_scope_on(born: date, enrolments: list[_Enrolment], on: date) -> bool:
    """In the activity responsibility's scope on `on` (`scope_reason`)."""
    return scope_reason(born, enrolments, on) == IN_SCOPE


class _Files:
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


class _Person:
    """One person's baseline, month and notifications, written as they are made."""

    def __init__(
        self, rng: random.Random, country: Country, home: str, used: set[str], shares: Shares
    ) -> None:
        self.rng, self.country, self.home, self.shares = rng, country, home, shares
        today = country.today
        self.extract = today - timedelta(days=DAYS)
        earliest = _years_after(today, -21) + timedelta(days=1)
        latest = _years_after(today, -15)  # 15 today
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

    def _baseline_enrolments(self) -> list[_Enrolment]:
        rng, today, extract = self.rng, self.country.today, self.extract
        if today <= date(self.born.year + 16, 6, 30):  # still in compulsory school
            return [_Enrolment("GR", self._uuid(), extract, year=9)]
        if today >= twentieth_birthday(self.born):  # 20: their gymnasieskola is behind them
            started = date(self.born.year + 16, 8, 20)
            ended = min(date(self.born.year + 19, 6, 15), extract)
            return [_Enrolment("GY", self._uuid(), extract, start=started, end=ended,
                               education_code="SA")]  # fmt: skip
        if rng.random() < self.shares.not_enrolled:
            roll = rng.random()
            if roll < 0.4:  # dropped out: the enrolment was cancelled
                return [_Enrolment("GY", self._uuid(), extract, cancelled=True,
                                   education_code="EK")]  # fmt: skip
            if roll < 0.7:  # an enrolment that ended before the extract
                ended = extract - timedelta(days=rng.randint(1, 300))
                started = min(ended, date(self.born.year + 16, 8, 20))
                return [_Enrolment("GY", self._uuid(), extract, start=started, end=ended,
                                   education_code="SA")]  # fmt: skip
            return []  # never started upper-secondary school
        school_type = "GYS" if rng.random() < 0.03 else "GY"
        code = "IMPRO" if rng.random() < 0.05 else rng.choice(("NA", "SA", "EK", "TE", "BF"))
        start = None
        if rng.random() < self.shares.dated:
            year = extract.year if extract >= date(extract.year, 8, 20) else extract.year - 1
            start = date(year, 8, 20)
        return [_Enrolment(school_type, self._uuid(), extract, start=start,
                           education_code=code, year=rng.randint(1, 3))]  # fmt: skip

    def eligible(self) -> bool:
        """Under 20 and past compulsory school today, whatever the enrolments."""
        today = self.country.today
        return in_scope_on(self.born, [], today)

    def open_enrolment(self) -> _Enrolment | None:
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

    def write(self, files: _Files, pick: Callable[[], str]) -> None:
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

    def _school_change(self, files: _Files) -> bool:
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
            started = _Enrolment("GY", self._uuid(), self.day(day), start=self.day(day),
                                 education_code="NA", year=1)  # fmt: skip
            self.enrolments.append(started)
            self.story.append(f"day {day} SS 12000 in {self.home}: started, {started.describe()}")
        else:
            return False
        files.write("ss12000", day, self.envelope("ss12000", self.home, day,
                                                  person=self.school_person()))  # fmt: skip
        self.country.ss12000_records += 1
        return True

    def _population_change(self, files: _Files, pick: Callable[[], str]) -> bool:
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

    def _notification(self, files: _Files) -> None:
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
            self.enrolments.append(_Enrolment("GY", unit, self.day(day), start=self.day(day)))
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


def _ranked() -> tuple[str, ...]:
    return LARGEST + tuple(code for code in KOMMUNKODER if code not in LARGEST)


def generate_country(
    persons: int,
    seed: int,
    out: Path,
    today: date,
    *,
    shares: Shares | None = None,
    progress: Callable[[int], None] | None = None,
) -> Country:
    """Write the country's feeds and notifications into `out` (see the module's docstring);
    `progress` hears the count of persons written every 50,000."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    country = Country(out, persons, today)
    country.expected_after_feeds = dict.fromkeys(KOMMUNKODER, 0)
    country.expected_in_scope = dict.fromkeys(KOMMUNKODER, 0)
    ranked = _ranked()
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** ZIPF for rank in range(len(ranked))))

    def pick() -> str:
        return ranked[bisect.bisect(cumulative, rng.random() * cumulative[-1])]

    used: set[str] = set()
    with ExitStack() as stack:
        files = _Files(stack, out)
        for n in range(persons):
            _Person(rng, country, pick(), used, shares or Shares()).write(files, pick)
            if progress is not None and (n + 1) % 50_000 == 0:
                progress(n + 1)
    return country
