"""A known youth's personal details are sealed with the data key the keyring holds for them.

Found with the national run's off-by-one (the same pattern as the feed opener's, see
tests/unit/identify/test_feed_opener_keys.py): identify loads a feed batch's known youths' data
keys into its bounded cache (`IdentifyStore.load_data_keys`) and reads the cache again when it
seals (`data_key`). The keys put for the batch push out the oldest, which may be one the batch
needs; `data_key` then makes a new key for a youth who has one, seals the details with it, and
the keyring keeps the old one (its insert does not replace a stored key): the register can
never open those details. At national scale (more youths than the cache holds) a few youths'
changed addresses would be unreadable.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import psycopg

from services.identify.adapters.store import IdentifyStore
from services.identify.commands import IdentifyCommands
from services.identify.domain.scope import TenantPolicy
from shared import personnummer
from shared.contracts.events import PersonalDetails
from shared.contracts.feeds import Address, PopulationFeedMessage, PopulationRecord
from shared.crypto import DataKeyCache, TenantKeys, open_sealed
from shared.eventstore import eventsourcing_env
from shared.pseudonym import person_id, person_key
from tests.conftest import RunningInfra

TENANT = "0180"
TODAY = date(2026, 12, 1)
MASTER_KEY = "national-data-keys-master-key"
PSEUDONYM_KEY = "national-data-keys-pseudonym"
NUMBERS = [personnummer.generate(date(2008, 3, 1 + n), random.Random(n)) for n in range(3)]


def record(number: str, street: str, effective: date, change: str) -> PopulationFeedMessage:
    at = datetime.combine(effective, datetime.min.time(), tzinfo=UTC)
    return PopulationFeedMessage(
        record_id=uuid.uuid4(), tenant=TENANT, observed_at=at,
        record=PopulationRecord(
            personnummer=number, given_name="A", family_name="B", kommunkod=TENANT,
            birth_date=personnummer.birth_date(number), change_type=change,
            effective_date=effective,
            address=Address(street=street, postal_code="111 22", city="Stockholm"),
        ),
    )  # fmt: skip


@contextlib.contextmanager
def identify(infra: RunningInfra) -> Iterator[IdentifyCommands]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(infra.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    app = IdentifyCommands(
        IdentifyStore(eventsourcing_env(infra.database_url, schema), master_key=MASTER_KEY),
        pseudonym_key=PSEUDONYM_KEY,
        served={TENANT: TenantPolicy(feed_sources=())},
    )
    app.store.data_keys = DataKeyCache(capacity=2)  # the national run's 100,000, in small
    try:
        yield app
    finally:
        app.store.close()
        with psycopg.connect(infra.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_a_changed_address_is_sealed_with_the_stored_key(infra: RunningInfra) -> None:
    first = NUMBERS[0]
    with identify(infra) as app:
        baselines = [record(n, "Gatan 1", date(2026, 11, 1), "baseline") for n in NUMBERS]
        app.take_in_feed_batch(baselines, "population", 0, 3, TODAY)  # the cache: 2nd, 3rd
        app.take_in_feed_batch(  # loads the first's key: the cache holds the third's, the first's
            [record(first, "Gatan 2", date(2026, 11, 2), "address_changed")], "population", 0, 4,
            TODAY,
        )  # fmt: skip
        # The third's and the first's keys are held when the batch looks; the second's, loaded for
        # it, pushes one of them out of the cache (whichever was used least recently).
        app.take_in_feed_batch(
            [record(n, "Gatan 3", date(2026, 11, 3), "address_changed") for n in NUMBERS],
            "population", 0, 7, TODAY,
        )  # fmt: skip
        with psycopg.connect(infra.database_url) as conn:
            for number in NUMBERS:
                assert street_as_stored(app, conn, number) == "Gatan 3"


def street_as_stored(app: IdentifyCommands, conn: psycopg.Connection, number: str) -> str | None:
    """The street in the person's sealed details, opened with the key the keyring holds."""
    person = app.store.get_or_none(person_id(person_key(number, PSEUDONYM_KEY)), {})
    youth = person.youth_ids[TENANT]
    (wrapped,) = conn.execute(
        "SELECT wrapped FROM keyring.youth_keys WHERE tenant = %s AND youth_id = %s",
        (TENANT, youth),
    ).fetchone()  # type: ignore[misc]
    stored = TenantKeys(MASTER_KEY).unwrap(TENANT, uuid.UUID(youth), bytes(wrapped))
    details = open_sealed(
        stored, person.personal_details[TENANT], TENANT, uuid.UUID(youth), PersonalDetails.PURPOSE
    )
    return PersonalDetails.model_validate_json(details).street
