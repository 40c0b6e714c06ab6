"""identify's domain: the scope engine (`scope`), the person and the facts they keep (`person`,
`records`), when scope episodes open and close (`episodes`) and how a save's facts are stored
together (`facts`). Pure: no I/O."""

from services.identify.domain.facts import FactsRecorded, compact
from services.identify.domain.person import Person
from services.identify.domain.records import NotificationIdTaken

__all__ = ["FactsRecorded", "NotificationIdTaken", "Person", "compact"]
