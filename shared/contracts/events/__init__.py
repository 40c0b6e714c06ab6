"""The integration events of the platform, version 1.

A change that breaks a consumer gets a new `schema_version` (and, if needed, a new topic `…v2`);
adding an optional field does not.

One module per publisher's topic (`identify`, `outreach`, `measures`, `retention`), and the
`catalogue` that unites them for parsing and for the exported documents. Services and the register
import every name from `shared.contracts.events`.
"""

from shared.contracts.events.catalogue import (
    ALL_EVENTS,
    EVENTS_BY_TOPIC,
    AnyEvent,
    parse_event,
    topic_adapter,
)
from shared.contracts.events.corrections import (
    Correction,
    CorrectionFields,
    CorrectionReasonCode,
)
from shared.contracts.events.identify import (
    AbsenceReported,
    LeavingReason,
    NotificationKind,
    PersonalDetails,
    PersonalDetailsRecorded,
    SchoolNotificationReceived,
    YouthIdentified,
    YouthLeftScope,
)
from shared.contracts.events.measures import (
    EffortResponsible,
    EffortText,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpScheduled,
    FollowUpSubject,
    IndividualPlanRevised,
    MeasureAccepted,
    MeasureDeclined,
    MeasureEnded,
    MeasureOffered,
    MeasuresEntryWithdrawn,
    MeasureStarted,
    ObjectionRecorded,
    PlanEffort,
    PlanMapping,
    PlanText,
)
from shared.contracts.events.outreach import (
    CaseAssigned,
    ContactAttempted,
    ContactChannel,
    ContactDetails,
    ContactDetailsRecorded,
    ContactEstablished,
    ContactOutcome,
    OccupationRecorded,
    OccupationTense,
    OutreachEntryWithdrawn,
    YouthInformed,
)
from shared.contracts.events.retention import (
    PersonalDataPurged,
)

__all__ = [
    "ALL_EVENTS",
    "EVENTS_BY_TOPIC",
    "AbsenceReported",
    "AnyEvent",
    "CaseAssigned",
    "ContactAttempted",
    "ContactChannel",
    "ContactDetails",
    "ContactDetailsRecorded",
    "ContactEstablished",
    "ContactOutcome",
    "Correction",
    "CorrectionFields",
    "CorrectionReasonCode",
    "EffortResponsible",
    "EffortText",
    "FollowUpCancelled",
    "FollowUpCompleted",
    "FollowUpScheduled",
    "FollowUpSubject",
    "IndividualPlanRevised",
    "LeavingReason",
    "MeasureAccepted",
    "MeasureDeclined",
    "MeasureEnded",
    "MeasureOffered",
    "MeasureStarted",
    "MeasuresEntryWithdrawn",
    "NotificationKind",
    "ObjectionRecorded",
    "OccupationRecorded",
    "OccupationTense",
    "OutreachEntryWithdrawn",
    "PersonalDataPurged",
    "PersonalDetails",
    "PersonalDetailsRecorded",
    "PlanEffort",
    "PlanMapping",
    "PlanText",
    "SchoolNotificationReceived",
    "YouthIdentified",
    "YouthInformed",
    "YouthLeftScope",
    "parse_event",
    "topic_adapter",
]
