"""Use cases of the outreach service."""

from __future__ import annotations

from services.outreach.domain import OutreachCase
from shared.cases import CaseApplication


class OutreachApplication(CaseApplication):
    case_class = OutreachCase
