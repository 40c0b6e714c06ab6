"""The person's keyed hash beside each youth's data key (`keyring.youth_keys.subject`), on the real
PostgreSQL: identify fills it in at start-up for keys made without it and makes a key for a youth
who entered scope without one (`services/identify/adapters/subjects.py`), and stores it with the
key it makes when a youth enters scope on another municipality's report of a move. The register's
look-up by personnummer and identify's `person_of_youth` (keyring only) then find the youth."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import DEFAULT_POLICY
from services.register.adapters.projection.handlers import apply_events
from services.register.commands.lookup import find_youth
from shared.auth import Principal
from shared.contracts.events import YouthIdentified
from shared.contracts.feeds import PopulationFeedMessage, PopulationRecord
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from tests.conftest import RunningInfra
from tests.integration.register_support import READER, Register, register

__all__ = ["register"]  # the fixture

SECRET = "keyring-subjects-test-pseudonym-key"
MASTER_KEY = "keyring-subjects-test-master-key"
VERA = "200802031377"  # 18 in 2026, out of compulsory school, no enrolment: in scope
OLLE = "200804055820"
TODAY = date(2026, 6, 20)
IN_1480 = Principal(subject="anna", tenant="1480", roles=frozenset({"caseworker"}))


@pytest.fixture
def identify(infra: RunningInfra, db_schema: str) -> Iterator[IdentifyCommands]:
    app = IdentifyCommands(
        IdentifyStore(eventsourcing_env(infra.database_url, db_schema), master_key=MASTER_KEY),
        pseudonym_key=SECRET,
        served={"0180": DEFAULT_POLICY, "1480": DEFAULT_POLICY},
    )
    yield app
    with app.store.recorder.datastore.transaction(commit=True) as curs:  # type: ignore[attr-defined]
        curs.execute(  # the keys identify made for the test's persons
            "DELETE FROM keyring.youth_keys WHERE subject = ANY(%s)",
            ([person_key(n, SECRET) for n in (VERA, OLLE)],),
        )
    app.store.close()


def population(number: str, *, kommunkod: str = "0180") -> PopulationFeedMessage:
    """The 0180 population feed's record of the person, registered in `kommunkod`."""
    return PopulationFeedMessage(
        record_id=uuid.uuid4(),
        tenant="0180",
        observed_at=datetime(2026, 3, 1, 8, tzinfo=UTC),
        record=PopulationRecord(
            personnummer=number, given_name="A", family_name="B", kommunkod=kommunkod,
            birth_date=date(int(number[:4]), int(number[4:6]), int(number[6:8])),
            change_type="baseline", effective_date=date(2026, 3, 1),
        ),
    )  # fmt: skip


def entered(app: IdentifyCommands, number: str, tenant: str) -> uuid.UUID:
    """The youth id the person entered scope with in `tenant`."""
    person = app.store.get_or_none(person_id(person_key(number, SECRET)), {})
    assert person is not None
    assert tenant in person.open_episodes, "in scope there"
    return uuid.UUID(person.youth_ids[tenant])


async def in_register(register: Register, tenant: str, youth: uuid.UUID) -> None:
    """The register holds the youth (as identify's `YouthIdentified` puts them there)."""
    when = datetime(2026, 6, 20, 9, tzinfo=UTC)
    event = YouthIdentified(
        event_id=uuid.uuid4(), tenant=tenant, youth_id=youth, occurred_at=when,
        recorded_at=when, actor="system:identify", correlation_id=uuid.uuid4(),
        scope_episode_id=uuid.uuid4(), entered_on=date(2026, 6, 20),
        scope_ends_on=date(2028, 2, 3), rule_version="kaa-2018-07-01", facts={},
    )  # fmt: skip
    async with register.pool.acquire() as conn, conn.transaction():
        await apply_events(conn, [event])
    register.youths.append(youth)  # its keyring row goes with the fixture


async def subject(register: Register, tenant: str, youth: uuid.UUID) -> str | None:
    row = await register.pool.fetchrow(
        "SELECT subject FROM keyring.youth_keys WHERE tenant = $1 AND youth_id = $2", tenant, youth
    )
    assert row is not None, "a key in the keyring"
    found: str | None = row["subject"]
    return found


async def test_a_key_without_its_subject_is_filled_at_start_and_the_youth_is_found(
    identify: IdentifyCommands, register: Register
) -> None:
    identify.take_in_feed_batch([population(VERA)], "feed", 0, 1, today=TODAY)
    vera = entered(identify, VERA, "0180")
    await in_register(register, "0180", vera)
    # A key from before identify kept the person's hash beside it.
    await register.pool.execute(
        "UPDATE keyring.youth_keys SET subject = NULL WHERE youth_id = $1", vera
    )
    assert identify.store.person_of_youth("0180", vera) is None, "the keyring only, no scan"
    assert await find_youth(register.pool, READER, VERA, "casework", SECRET) is None

    filled = identify.store.fill_subjects()  # identify's start-up

    assert (filled.filled, filled.made, filled.done_before) == (1, 0, False)
    assert await subject(register, "0180", vera) == person_key(VERA, SECRET)
    assert identify.store.person_of_youth("0180", vera) == person_id(person_key(VERA, SECRET))
    assert await find_youth(register.pool, READER, VERA, "casework", SECRET) == vera
    # Once: a second start does nothing (and a NULL written now stays: nothing makes one).
    await register.pool.execute(
        "UPDATE keyring.youth_keys SET subject = NULL WHERE youth_id = $1", vera
    )
    assert identify.store.fill_subjects().done_before
    assert await subject(register, "0180", vera) is None


async def test_a_youth_entering_on_another_municipalitys_report_of_a_move_is_found(
    identify: IdentifyCommands, register: Register
) -> None:
    """0180's population feed reports the youth registered in 1480: they enter 1480's scope with
    no record of 1480's own feed, and so no personal details to seal there. Their key in 1480 is
    made as they enter, with the person's hash."""
    identify.take_in_feed_batch([population(VERA, kommunkod="1480")], "feed", 0, 1, today=TODAY)
    vera = entered(identify, VERA, "1480")
    await in_register(register, "1480", vera)

    assert await subject(register, "1480", vera) == person_key(VERA, SECRET)
    assert await find_youth(register.pool, IN_1480, VERA, "casework", SECRET) == vera
    assert await find_youth(register.pool, READER, VERA, "casework", SECRET) is None, "not 0180's"
    assert identify.store.person_of_youth("1480", vera) == person_id(person_key(VERA, SECRET))


async def test_a_youth_who_entered_without_a_key_gets_one_at_start_unless_it_was_destroyed(
    identify: IdentifyCommands, register: Register
) -> None:
    """Youths who entered 1480 on 0180's report before identify made keys at entry: the start-up
    makes their key with the hash; one whose key retention destroyed gets none again."""
    identify.take_in_feed_batch(
        [population(VERA, kommunkod="1480"), population(OLLE, kommunkod="1480")],
        "feed", 0, 1, today=TODAY,
    )  # fmt: skip
    vera, olle = entered(identify, VERA, "1480"), entered(identify, OLLE, "1480")
    for youth in (vera, olle):
        await in_register(register, "1480", youth)
    await register.pool.execute(
        "DELETE FROM keyring.youth_keys WHERE tenant = '1480' AND youth_id = ANY($1)", [vera, olle]
    )
    await register.pool.execute(
        "INSERT INTO keyring.destroyed_keys (tenant, youth_id, reason) VALUES ('1480', $1, 'test')",
        olle,
    )
    assert await find_youth(register.pool, IN_1480, VERA, "casework", SECRET) is None
    assert identify.store.person_of_youth("1480", vera) is None

    progress: list[tuple[int, int]] = []
    filled = identify.store.fill_subjects(lambda made, of: progress.append((made, of)))

    try:
        assert (filled.made, filled.filled, progress) == (1, 0, [(1, 1)])
        assert await subject(register, "1480", vera) == person_key(VERA, SECRET)
        assert await find_youth(register.pool, IN_1480, VERA, "casework", SECRET) == vera
        assert identify.store.person_of_youth("1480", vera) == person_id(person_key(VERA, SECRET))
        gone = "SELECT count(*) FROM keyring.youth_keys WHERE youth_id = $1"
        assert await register.pool.fetchval(gone, olle) == 0, "a destroyed key is not made again"
    finally:
        await register.pool.execute("DELETE FROM keyring.destroyed_keys WHERE youth_id = $1", olle)
