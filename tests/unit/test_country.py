"""The synthetic country of the national benchmark (kaa.dev.country): the 290 municipalities, the
same files for the same seed, a realistic share in scope, and a month of changes and school
notifications that the feed contracts and identify's notification API accept."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaa.dev import country_rules
from kaa.dev.country import DAYS, KOMMUNKODER, LARGEST, Country, generate_country, in_scope_on
from services.identify.domain.scope import Enrolment, Residence, YouthFacts, decide
from services.identify.entrypoints.http import SchoolNotificationRequest
from shared.contracts.feeds import PopulationFeedMessage, Ss12000FeedMessage

TODAY = date(2026, 12, 1)
PERSONS = 6000


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Country:
    return generate_country(PERSONS, seed=5, out=tmp_path_factory.mktemp("country"), today=TODAY)


def _contents(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.*"))}


def test_the_290_municipalities_are_real_codes_the_largest_first_by_size(country: Country) -> None:
    assert len(KOMMUNKODER) == 290 == len(set(KOMMUNKODER))
    assert all(len(code) == 4 and code.isdigit() for code in KOMMUNKODER)
    assert {"0180", "1480", "1280", "2584", "0114"} <= set(KOMMUNKODER)
    assert set(LARGEST) <= set(KOMMUNKODER)
    homes = Counter(
        json.loads(line)["tenant"] for line in (country.directory / "population" /
                                                "00-baseline.jsonl").open()
    )  # fmt: skip
    assert sum(homes.values()) == PERSONS
    assert [code for code, _ in homes.most_common(3)] == ["0180", "1480", "1280"]
    assert 0.07 < homes["0180"] / PERSONS < 0.11  # Stockholm: about 9 % of the youths
    assert len(homes) > 250  # nearly every municipality has someone even at 6,000 persons
    assert set(country.expected_in_scope) == set(KOMMUNKODER)


def test_the_same_seed_writes_the_same_country_and_another_seed_another(tmp_path: Path) -> None:
    first = generate_country(800, seed=9, out=tmp_path / "a", today=TODAY)
    again = generate_country(800, seed=9, out=tmp_path / "b", today=TODAY)
    generate_country(800, seed=10, out=tmp_path / "c", today=TODAY)
    assert _contents(tmp_path / "a") == _contents(tmp_path / "b")
    assert first.expected_in_scope == again.expected_in_scope
    assert (first.population_records, first.notifications) == (
        again.population_records,
        again.notifications,
    )
    assert _contents(tmp_path / "a") != _contents(tmp_path / "c")


def test_a_realistic_share_is_in_scope_and_the_notifications_move_it(country: Country) -> None:
    after_feeds = sum(country.expected_after_feeds.values())
    final = sum(country.expected_in_scope.values())
    # The country: about 5 % of those past compulsory school and under 20, some 3-4 % of all.
    assert 0.02 * PERSONS < final < 0.06 * PERSONS
    notified = Counter(
        json.loads(line)["body"]["kind"] for line in country.notifications_file.open()
    )
    assert sum(notified.values()) == country.notifications
    assert notified["left"] > 0
    assert notified["started"] > 0
    # Each "left" brings one youth into scope, each "started" takes one out.
    assert final - after_feeds == notified["left"] - notified["started"]


def test_the_expectation_per_person_adds_up_to_the_counts_and_says_why(country: Country) -> None:
    """`expected.jsonl` names every person once, in scope where they live at the end, with the
    story of their month: what a failed national run uses to name the persons who differ."""
    after_feeds: Counter[str | None] = Counter()
    final: Counter[str | None] = Counter()
    numbers = set()
    for line in country.expected_file.open():
        person = json.loads(line)
        numbers.add(person["personnummer"])
        assert person["after_feeds"] in (None, person["home"])
        assert person["in_scope"] in (None, person["home"])
        after_feeds[person["after_feeds"]] += 1
        final[person["in_scope"]] += 1
        assert person["why"][0].startswith("baseline in ")
        verdict = "in scope: " if person["in_scope"] else "not in scope: "
        assert person["why"][-1].startswith(f"after the notifications: {verdict}")
        assert not any("born" in step for step in person["why"])  # codes and dates only
    assert len(numbers) == PERSONS
    del after_feeds[None], final[None]
    assert after_feeds == +Counter[str | None](country.expected_after_feeds)
    assert final == +Counter[str | None](country.expected_in_scope)


def test_every_record_of_the_month_is_valid_against_the_feed_contracts(country: Country) -> None:
    extract = TODAY - timedelta(days=DAYS)
    changes: Counter[str] = Counter()
    moves: dict[tuple[int, str], dict[str, tuple[str, str]]] = {}
    for feed, model in (("population", PopulationFeedMessage), ("ss12000", Ss12000FeedMessage)):
        files = country.files(feed)
        assert [f.name for f in files][:2] == ["00-baseline.jsonl", "day-01.jsonl"]
        assert len(files) == DAYS + 1
        for day, path in enumerate(files):
            for line in path.open():
                message = model.model_validate_json(line)
                assert message.tenant in KOMMUNKODER
                assert message.observed_at.date() == extract + timedelta(days=day)
                if isinstance(message, PopulationFeedMessage):
                    record = message.record
                    changes[record.change_type] += 1
                    if record.change_type in ("moved_out", "moved_in"):
                        told = moves.setdefault((day, record.personnummer), {})
                        told[record.change_type] = (message.tenant, record.kommunkod)
                    if day:
                        assert record.effective_date == extract + timedelta(days=day)
                else:
                    changes["ss12000"] += 1
    lines = sum(1 for f in country.files("population") for _ in f.open())
    assert lines == country.population_records
    assert changes["baseline"] == PERSONS
    assert changes["ss12000"] == country.ss12000_records > PERSONS  # the month's school changes
    assert changes["address_changed"] > 0
    assert changes["moved_in"] == changes["moved_out"] > 0
    for told in moves.values():  # the old municipality hears moved_out, the new one moved_in
        (left, going), (entered, living) = told["moved_out"], told["moved_in"]
        assert going == living == entered != left


def test_the_notifications_are_bodies_identify_accepts_for_their_hemkommun(
    country: Country,
) -> None:
    for line in country.notifications_file.open():
        item = json.loads(line)
        body = SchoolNotificationRequest.model_validate(item["body"])
        assert body.hemkommun == item["tenant"]
        assert item["tenant"] in KOMMUNKODER
        assert TODAY - timedelta(days=DAYS) < body.on <= TODAY


enrolments = st.builds(
    country_rules.Enrolment,
    school_type=st.sampled_from(["GY", "GYS", "GR", "VUX"]),
    unit=st.just("u"),
    observed=st.dates(date(2026, 10, 1), date(2026, 12, 1)),
    cancelled=st.booleans(),
    start=st.none() | st.dates(date(2025, 8, 1), date(2026, 12, 1)),
    end=st.none() | st.dates(date(2026, 10, 1), date(2027, 6, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    born=st.dates(date(2005, 1, 1), date(2012, 1, 1)),
    listed=st.lists(enrolments, max_size=3),
)
def test_the_expected_scope_is_what_the_scope_engine_decides(
    born: date, listed: list[country_rules.Enrolment]
) -> None:
    """The generator's count of youths in scope agrees with identify's rules for every
    enrolment state it can make (resident since birth, no completions)."""
    facts = YouthFacts(
        birth_date=born,
        residences=(Residence(since=born, kommunkod="0180"),),
        enrolments=tuple(
            Enrolment(e.school_type, e.cancelled, e.start, e.end, e.observed) for e in listed
        ),
    )
    assert in_scope_on(born, listed, TODAY) == decide(facts, "0180", TODAY).in_scope
