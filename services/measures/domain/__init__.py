"""The measures domain: the case (`case`), the measure lifecycle decided once (`lifecycle`), the
individual plan's rules (`plan`), the catalogue (`catalogue`) and the values they share (`values`).
Pure: no I/O, and nothing of the service's other layers.

The aggregates are exported here: their stored events name them `services.measures.domain:…`.
"""

from services.measures.domain.case import MeasuresCase
from services.measures.domain.catalogue import CONSORTIUM, MeasureCatalogue
from services.measures.domain.lifecycle import TRANSITIONS, MeasureState, Step
from services.measures.domain.plan import plan_text
from services.measures.domain.values import CONTENT

__all__ = [
    "CONSORTIUM",
    "CONTENT",
    "TRANSITIONS",
    "MeasureCatalogue",
    "MeasureState",
    "MeasuresCase",
    "Step",
    "plan_text",
]
