"""Use cases of the measures service."""

from __future__ import annotations

from services.measures.domain import MeasuresCase
from shared.cases import CaseApplication


class MeasuresApplication(CaseApplication):
    case_class = MeasuresCase
