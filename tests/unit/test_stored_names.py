"""The names stored data is filed under: an aggregate's and its events' topics, and the event
stores' application names (the library names their tables after them). Moving or renaming a class
must not change them, or stored events stop loading, the outbox relay skips them, and a store
starts on empty tables."""

from __future__ import annotations

import inspect

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from services.identify.adapters.store import IdentifyStore
from services.identify.domain import Person
from services.measures.adapters.store import MeasuresApplication
from services.measures.domain import MeasureCatalogue, MeasuresCase
from services.outreach.adapters.store import OutreachApplication
from services.outreach.domain import OutreachCase
from shared.casework.domain import TenantRules

CASE = ("Created", "Opened", "ScopeOpened", "ScopeClosed")
STORED: dict[type[Aggregate], tuple[str, tuple[str, ...]]] = {
    Person: (
        "services.identify.domain:Person",
        ("Created", "Registered", "DetailsAnnounced", "PopulationRecorded", "EnrolmentsObserved", "OrganiserEnrolmentsObserved",
         "CompletionRecorded", "SchoolNotificationReceived", "ScopeEntered", "ScopeLeft",
         "RegisteredInError"),
    ),
    OutreachCase: (
        "services.outreach.domain:OutreachCase",
        (*CASE, "CaseAssigned", "ContactAttempted", "ContactDetailsRecorded", "ContactEstablished",
         "OccupationRecorded", "SchoolNotificationNoted", "YouthInformed", "EntryCorrected",
         "EntryWithdrawn"),
    ),
    MeasuresCase: (
        "services.measures.domain:MeasuresCase",
        (*CASE, "FollowUpCompleted", "FollowUpScheduled", "IndividualPlanRevised",
         "MeasureAccepted", "MeasureDeclined", "MeasureEnded", "MeasureOffered", "MeasureStarted",
         "ObjectionRecorded", "EntryWithdrawn", "IndividualPlanRevisionCorrected",
         "MeasureStepCorrected", "FollowUpCancelled", "FollowUpCompletionCorrected",
         "ObjectionCorrected"),
    ),
    MeasureCatalogue: (
        "services.measures.domain:MeasureCatalogue", ("Created", "EntryDefined", "EntryRetired")
    ),
    TenantRules: ("shared.cases:TenantRules", ("Created", "Configured", "Reconfigured")),
}  # fmt: skip


def stored_events(aggregate: type[Aggregate]) -> dict[str, str]:
    """The aggregate's event classes that get stored (not the `Event` base), by name → topic."""
    found = {}
    for name in dir(aggregate):
        value = getattr(aggregate, name)
        if inspect.isclass(value) and issubclass(value, Aggregate.Event) and name != "Event":
            found[name] = get_topic(value)
    return found


@pytest.mark.parametrize("aggregate", list(STORED), ids=lambda a: a.__name__)
def test_an_aggregate_and_its_events_keep_the_topics_they_were_stored_under(
    aggregate: type[Aggregate],
) -> None:
    topic, events = STORED[aggregate]
    assert get_topic(aggregate) == topic
    assert stored_events(aggregate) == {name: f"{topic}.{name}" for name in events}


def test_the_event_stores_keep_the_names_their_tables_were_made_with() -> None:
    assert IdentifyStore.name == "IdentifyApplication"
    assert OutreachApplication.name == "OutreachApplication"
    assert MeasuresApplication.name == "MeasuresApplication"
