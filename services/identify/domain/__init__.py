"""identify's domain: the scope engine (`scope`), the person and the facts they keep (`person`,
`records`) and when scope episodes open and close (`episodes`). Pure: no I/O."""

from services.identify.domain.person import Person
from services.identify.domain.records import NotificationIdTaken

__all__ = ["NotificationIdTaken", "Person"]
