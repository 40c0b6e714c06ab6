"""What `shared/eventstore` relies on inside `eventsourcing`, pinned: an upgrade that changes it
fails here, loudly, naming the member and the code of ours to revisit.

`BatchProcessRecorder` (shared/eventstore/recorder.py) replaces three private steps of the
library's PostgreSQL recorder and calls two more; identify's schedule recorder overrides one of
them too. `KafkaFedApplication` (shared/eventstore/application.py) goes past `Application.save` and
`Repository.get` to the library's mapper and recorder. `OrjsonTranscoder` and `EventMapper`
(shared/eventstore/transcoder.py, mapper.py) write the library's format themselves and fall back on
the library's own steps. A renamed step would not fail anywhere: the library would silently run its
own and our override would be dead code (read tables not written, events inserted the slow way,
notification ids read back from a statement that returns none).

Written against eventsourcing 9.5.6 (pyproject: `eventsourcing[postgres]>=9.5,<10`). No database:
the recorder runs its insert on a recording connection.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import pytest
from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    Notification,
    StoredEvent,
    Tracking,
    Transcoding,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from psycopg import sql

from shared.eventstore import BatchProcessRecorder, KafkaFedApplication, eventsourcing_env
from shared.eventstore import recorder as recorder_module

LIBRARY = f"eventsourcing {version('eventsourcing')}"
RECORDER = "shared/eventstore/recorder.py BatchProcessRecorder"
APPLICATION = "shared/eventstore/application.py KafkaFedApplication"
TRANSCODER = "shared/eventstore/transcoder.py"
MAPPER = "shared/eventstore/mapper.py EventMapper"


@dataclass(frozen=True)
class Relied:
    """A member of the library we override (`exact`: our signature must be the library's) or
    call (the parameters we pass come first, any others have defaults)."""

    owner: type
    name: str
    parameters: tuple[str, ...]  # "*" marks the keyword-only ones; "**" any **kwargs
    revisit: str
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.owner.__name__}.{self.name}"


RELIED = (
    Relied(PostgresProcessRecorder, "__init__",
           ("self", "datastore", "*", "events_table_name", "tracking_table_name"),
           f"{RECORDER}.__init__ (the library's factory builds our recorder with these)"),
    Relied(PostgresProcessRecorder, "_insert_events", ("self", "curs", "stored_events", "**"),
           f"{RECORDER}._insert_events (read tables in the events' transaction) and "
           "services/identify/adapters/schedule.py ScheduleRecorder._insert_events"),
    Relied(PostgresProcessRecorder, "_insert_stored_events",
           ("self", "curs", "stored_events", "**"),
           f"{RECORDER}._insert_stored_events (a batch as four arrays)"),
    Relied(PostgresProcessRecorder, "_fetch_ids_after_insert_events",
           ("self", "curs", "stored_events", "**"),
           f"{RECORDER}._fetch_ids_after_insert_events (ids are not read back)"),
    Relied(PostgresProcessRecorder, "_lock_table", ("self", "curs"),
           f"{RECORDER}._insert_stored_events, which runs its statements rendered once"),
    Relied(PostgresProcessRecorder, "_notify_channel", ("self", "curs"),
           f"{RECORDER}._insert_stored_events, which runs its statement rendered once"),
    Relied(PostgresProcessRecorder, "insert_events", ("self", "stored_events", "**"),
           f"{RECORDER}.insert_events (the same steps in one round trip) and {APPLICATION}"
           ".save_tracked, which passes tracking= and read_model= through it"),
    Relied(PostgresProcessRecorder, "insert_tracking", ("self", "tracking"),
           "shared/messaging/relay.py (the relay's position)", exact=False),
    Relied(PostgresProcessRecorder, "max_tracking_id", ("self", "application_name"),
           f"{APPLICATION}.stored_positions and the relay's position", exact=False),
    Relied(PostgresDatastore, "get_connection", ("self",),
           f"{RECORDER}.select_relay_batch and {APPLICATION}.preload", exact=False),
    Relied(PostgresDatastore, "transaction", ("self", "*", "commit"),
           "services/identify/commands.py and shared/casework/adapters/store.py", exact=False),
    Relied(PostgresFactory, "process_recorder", ("self",),
           f"{APPLICATION}.construct_recorder, which calls it"),
    Relied(Application, "__init__", ("self", "env"), f"{APPLICATION}.__init__", exact=False),
    Relied(Application, "register_transcodings", ("self", "transcoder"),
           f"{APPLICATION}.register_transcodings (dates as ISO strings)"),
    Relied(Application, "construct_recorder", ("self",),
           f"{APPLICATION}.construct_recorder (a process recorder, with tracking)"),
    Relied(JSONTranscoder, "register", ("self", "transcoding"),
           f"{APPLICATION}.register_transcodings", exact=False),
    Relied(Transcoding, "encode", ("self", "obj"), f"{TRANSCODER} DateAsISO.encode"),
    Relied(Transcoding, "decode", ("self", "data"), f"{TRANSCODER} DateAsISO.decode"),
    Relied(JSONTranscoder, "__init__", ("self",),
           f"{TRANSCODER} OrjsonTranscoder.__init__ (the factory builds it without arguments)"),
    Relied(JSONTranscoder, "register", ("self", "transcoding"),
           f"{TRANSCODER} OrjsonTranscoder.register"),
    Relied(JSONTranscoder, "encode", ("self", "obj"), f"{TRANSCODER} OrjsonTranscoder.encode"),
    Relied(JSONTranscoder, "decode", ("self", "data"), f"{TRANSCODER} OrjsonTranscoder.decode"),
    Relied(Mapper, "__init__", ("self", "transcoder", "compressor", "cipher"),
           f"{MAPPER}.__init__ (the factory builds it with these)"),
    Relied(Mapper, "to_stored_event", ("self", "domain_event"),
           f"{MAPPER}.to_stored_event and {APPLICATION}.save_tracked"),
    Relied(Mapper, "to_domain_event", ("self", "stored_event"),
           f"{MAPPER}.to_domain_event, {APPLICATION}.preload and shared/messaging/relay.py"),
    Relied(Repository, "get", ("self", "aggregate_id"),
           f"{APPLICATION}.get_or_none", exact=False),
    Relied(ProcessingEvent, "__init__", ("self", "tracking"),
           f"{APPLICATION}.save_tracked", exact=False),
    Relied(Aggregate, "collect_events", ("self",), f"{APPLICATION}.save_tracked", exact=False),
    Relied(Aggregate.Event, "mutate", ("self", "aggregate"),
           f"{APPLICATION}.preload", exact=False),
)  # fmt: skip


def shape(function: Callable[..., Any]) -> tuple[str, ...]:
    """A signature as the names `Relied.parameters` lists (with `*` and `**` markers)."""
    names: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            names.append("**")
        elif parameter.kind is parameter.VAR_POSITIONAL:
            names.append("*" + parameter.name)
        else:
            if parameter.kind is parameter.KEYWORD_ONLY and "*" not in names:
                names.append("*")
            names.append(parameter.name)
    return tuple(names)


def has_default(function: Callable[..., Any], name: str) -> bool:
    parameter = inspect.signature(function).parameters.get(name)
    return parameter is None or parameter.default is not parameter.empty


@pytest.mark.parametrize("relied", RELIED, ids=str)
def test_the_library_still_has_what_we_override_or_call(relied: Relied) -> None:
    member = getattr(relied.owner, relied.name, None)
    assert callable(member), f"{LIBRARY}: {relied} is gone; revisit {relied.revisit}"
    found = shape(member)
    changed = (
        f"{LIBRARY}: {relied} is now {found}, not {relied.parameters}; revisit {relied.revisit}"
    )
    if relied.exact:
        assert found == relied.parameters, changed
    else:
        assert found[: len(relied.parameters)] == relied.parameters, changed
        extra = [n for n in found[len(relied.parameters) :] if n not in ("*", "**")]
        assert all(has_default(member, n) or n.startswith("*") for n in extra), changed


@pytest.mark.parametrize(
    "name",
    ["insert_events", "_insert_events", "_insert_stored_events", "_fetch_ids_after_insert_events"],
)
def test_our_overrides_take_what_the_library_passes(name: str) -> None:
    ours = shape(getattr(BatchProcessRecorder, name))
    theirs = shape(getattr(PostgresProcessRecorder, name))
    assert ours == theirs, f"{LIBRARY}: {RECORDER}.{name} is {ours}, the library's {theirs}"


@pytest.mark.parametrize(
    ("record", "fields"),
    [
        (StoredEvent, ["originator_id", "originator_version", "topic", "state"]),
        (Notification, ["originator_id", "originator_version", "topic", "state", "id"]),
        (Tracking, ["application_name", "notification_id"]),  # built positionally
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_library_records_have_the_fields_we_build_them_with(
    record: type, fields: list[str]
) -> None:
    found = [field.name for field in dataclasses.fields(record)]
    assert found == fields, (
        f"{LIBRARY}: {record.__name__} fields are now {found}; revisit {RECORDER}"
        f".select_relay_batch, {APPLICATION}.save_tracked and .preload, shared/messaging/relay.py"
    )


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


@dataclass
class Recording:
    """A connection that does what psycopg would and writes down every statement."""

    statements: list[tuple[Any, Any]] = dataclasses.field(default_factory=list)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    autocommit: bool = True
    statusmessage: str = "INSERT 0 1"

    def cursor(self) -> Any:
        return nullcontext(self)

    def pipeline(self) -> Any:
        return nullcontext(self)

    def transaction(self) -> Any:
        return nullcontext(self)

    def sync(self) -> None:
        return None

    def execute(self, query: Any, params: Any = None, **_: Any) -> None:
        self.statements.append((query, params))

    def executemany(self, query: Any, rows: Any) -> None:
        self.statements.append((query, list(rows)))

    def fetchone(self) -> dict[str, Any]:
        return {"max": None}

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> tuple[KafkaFedApplication, Recording]:
    """The application as services build it, on a recording connection (no database)."""
    monkeypatch.setattr(PostgresDatastore, "register_type_adapters", lambda self: None)
    env = eventsourcing_env("postgresql://kaa@127.0.0.1:9/none", "contract", create_table=False)
    application = KafkaFedApplication(env=env)
    recording = Recording()

    @contextmanager
    def connection() -> Iterator[Recording]:
        yield recording

    recorder = application.recorder
    monkeypatch.setattr(recorder.datastore, "get_connection", connection)  # type: ignore[attr-defined]
    return application, recording


def test_the_library_builds_our_recorder_from_the_environment(
    app: tuple[KafkaFedApplication, Recording],
) -> None:
    application, _ = app
    recorder = application.recorder
    assert isinstance(recorder, BatchProcessRecorder), (
        f"{LIBRARY}: PROCESS_RECORDER_TOPIC no longer chooses the recorder; revisit {APPLICATION}"
        ".__init__ and .construct_recorder"
    )
    datastore = recorder.datastore
    assert datastore.schema == "contract"
    assert isinstance(recorder.sql_create_statements, list)
    assert isinstance(recorder.events_table_name, str)
    assert isinstance(datastore.pool.kwargs, dict), (
        f"revisit shared/eventstore/leases.py ({LIBRARY})"
    )
    assert datastore.enable_db_functions is False, (
        f"{LIBRARY}: the recorder inserts through database functions by default, past every "
        f"private step {RECORDER} replaces"
    )


def test_a_tracked_save_runs_the_library_s_steps_in_one_transaction(
    app: tuple[KafkaFedApplication, Recording],
) -> None:
    application, recording = app
    recorder = application.recorder
    assert isinstance(recorder, BatchProcessRecorder)
    counter = Counter()
    counter.increment()
    read_table = sql.SQL("INSERT INTO contract.counted VALUES (%s)")

    application.save_tracked([counter], "t", 3, 42, read_model=[(read_table, [(1,)])])

    names = {
        recorder_module._BEGIN: "begin",
        recorder_module._COMMIT: "commit",
        as_bytes(recorder.insert_tracking_statement): "tracking",
        as_bytes(read_table): "read table",
        **{as_bytes(statement): "lock" for statement in recorder.lock_table_statements},
        as_bytes(sql.SQL("NOTIFY {0}").format(sql.Identifier(recorder.channel_name))): "notify",
        as_bytes(recorder.insert_events_statement): "events",
    }
    steps = [names.get(as_bytes(query), str(query)) for query, _ in recording.statements]
    assert steps == [
        "begin",
        "tracking",
        "read table",
        "lock",
        "lock",
        "notify",
        "events",
        "commit",
    ], (
        f"{LIBRARY}: {RECORDER}.insert_events no longer runs the library's steps and ours "
        f"in one transaction in this order: {steps}"
    )
    tracking = recording.statements[1][1]
    assert tracking == {"application_name": "t#3", "notification_id": 42}
    ids, versions, topics, states = recording.statements[-2][1]
    assert ids == [counter.id, counter.id]
    assert versions == [1, 2]
    assert len(topics) == len(states) == 2


# The library's insert as it was when `insert_events` of ours was written to do the same in one
# round trip: a change to any of them may be a step ours does not take (digests of the source).
REPLACED = {
    "PostgresApplicationRecorder.insert_events": "f1a98da0239e3ea7",
    "PostgresProcessRecorder._insert_events": "0c105d6d23c12d5e",
    "PostgresTrackingRecorder._insert_tracking": "a16a7c53b4468a46",
}


def test_the_library_s_insert_is_still_the_one_ours_does_in_one_round_trip() -> None:
    members = (
        PostgresApplicationRecorder.insert_events,
        PostgresProcessRecorder._insert_events,
        PostgresTrackingRecorder._insert_tracking,
    )
    for member in members:
        source = inspect.getsource(getattr(member, "__wrapped__", member))
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        assert digest == REPLACED[member.__qualname__], (
            f"{LIBRARY}: {member.__qualname__} changed; revisit {RECORDER}.insert_events, "
            "which does the library's insert with its own BEGIN and COMMIT"
        )


def as_bytes(query: Any) -> bytes:
    return query.as_bytes(None) if isinstance(query, sql.Composable) else bytes(query)


def test_the_lock_and_the_notification_are_the_library_s(
    app: tuple[KafkaFedApplication, Recording],
) -> None:
    """Our insert runs the library's `_lock_table` and `_notify_channel` statements itself
    (rendered once): they must stay what the library runs."""
    application, _ = app
    recorder = application.recorder
    assert isinstance(recorder, BatchProcessRecorder)
    library = Recording()
    PostgresProcessRecorder._lock_table(recorder, library)  # type: ignore[arg-type]
    PostgresProcessRecorder._notify_channel(recorder, library)  # type: ignore[arg-type]
    ours = Recording()
    recorder._insert_stored_events(ours, [])  # type: ignore[arg-type]

    theirs = [as_bytes(query) for query, _ in library.statements]
    assert [as_bytes(query) for query, _ in ours.statements[:-1]] == theirs, (
        f"{LIBRARY}: the table lock or the notification changed; revisit "
        f"{RECORDER}._insert_stored_events"
    )
    assert b"LOCK TABLE" in theirs[-2]
    assert theirs[-1].startswith(b"NOTIFY")


def test_a_composed_statement_is_rendered_once_and_kept_by_identity() -> None:
    statement = sql.SQL("INSERT INTO {} VALUES (%s)").format(sql.Identifier("s", "t"))
    first = recorder_module.rendered(statement)
    assert first == b'INSERT INTO "s"."t" VALUES (%s)'
    assert recorder_module.rendered(statement) is first
    assert recorder_module.rendered(b"SELECT 1") == b"SELECT 1"
    for _ in range(recorder_module._RENDERED_MAX + 5):  # composed anew each time: bounded
        recorder_module.rendered(sql.SQL("SELECT {}").format(sql.Literal(1)))
    assert len(recorder_module._rendered) <= recorder_module._RENDERED_MAX


def test_preload_rebuilds_what_a_save_stored(app: tuple[KafkaFedApplication, Recording]) -> None:
    application, recording = app
    counter = Counter()
    counter.increment()
    counter.increment()
    application.save_tracked([counter], None, 0, 0)
    ids, versions, topics, states = recording.statements[-2][1]
    recording.rows = [
        {"originator_id": i, "originator_version": v, "topic": t, "state": s}
        for i, v, t, s in zip(ids, versions, topics, states, strict=True)
    ]
    application.forget(counter.id)
    cache: dict[uuid.UUID, Any] = {}

    application.preload([counter.id], cache)

    rebuilt = cache[counter.id]
    assert isinstance(rebuilt, Counter), f"{LIBRARY}: revisit {APPLICATION}.preload"
    assert (rebuilt.count, rebuilt.version) == (2, 3)
