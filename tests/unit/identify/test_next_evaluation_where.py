"""A person's next evaluation looks only at the municipalities they are, were or will be
folkbokförd in or that know them, and finds the same day as looking at every served one."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.identify.domain import Person
from services.identify.domain.episodes import next_evaluation
from services.identify.domain.records import EnrolmentRecord
from services.identify.domain.scope import DEFAULT_POLICY
from tests.unit.identify.test_identify_scope import NOON, TODAY

SERVED = {f"{n:04d}": DEFAULT_POLICY for n in range(180, 200)}
KOMMUNER = sorted(SERVED)


def moved(person: Person, kommun: str, on: date, born: date, change: str) -> None:
    person.record_population(
        kommunkod=kommun, birth_date=born, protected=False, change_type=change,
        effective_date=on, observed_at=NOON, registered_in_sweden_on=None,
        record_id=uuid.uuid4(), tenant=KOMMUNER[0], details_digest=f"{kommun}{on}",
        seal=lambda youth_id: f"sealed for {youth_id}",
    )  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    born=st.dates(date(2006, 1, 1), date(2012, 12, 31)),
    homes=st.lists(
        st.tuples(st.sampled_from(KOMMUNER), st.integers(0, 2000)), min_size=1, max_size=3
    ),
    enrolled=st.booleans(),
    notified=st.lists(st.sampled_from(KOMMUNER), max_size=2),
    after=st.integers(-400, 400),
)
def test_the_municipalities_that_know_the_person_give_the_day_every_served_one_gives(
    born: date,
    homes: list[tuple[str, int]],
    enrolled: bool,
    notified: list[str],
    after: int,
) -> None:
    person = Person("key-where")
    for n, (kommun, days) in enumerate(homes):
        moved(
            person, kommun, born + timedelta(days=days), born, "baseline" if n == 0 else "moved_in"
        )
    if enrolled:
        gy = [
            EnrolmentRecord("GY", "u1", start_date=born + timedelta(days=5900), education_code="NA")
        ]
        person.observe_enrolments(gy, NOON, TODAY, born)
    for kommun in notified:
        person.record_school_notification(
            notification_id=uuid.uuid4(), tenant=kommun, kind="left", on=TODAY,
            school_type="GY", school_unit="u1", birth_date=born, reported_by="school",
        )  # fmt: skip
    person.reevaluate(SERVED, TODAY, actor="feed:population", correlation_id=uuid.uuid4())
    day = TODAY + timedelta(days=after)
    everywhere = next_evaluation(person.facts, SERVED, day)
    assert person.next_evaluation(SERVED, day) == everywhere


def test_facts_are_worked_out_only_where_the_person_is_known() -> None:
    person = Person("key-known")
    moved(person, "0181", date(2009, 5, 1), date(2009, 5, 1), "baseline")
    person.next_evaluation(SERVED, TODAY)
    held = person._facts_at_version[1]
    # Where they live, and the municipality that received the record (it gave them a youth id).
    assert set(held) <= {None, "0180", "0181"}, "not the other 18 served municipalities"
