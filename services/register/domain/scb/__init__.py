"""The half-year report to SCB, pure: its codes, the rows it is built from, its checks and file."""

from services.register.domain.scb.checks import (
    Checks,
    Finding,
    Severity,
    occupation_on,
    youth_records,
)
from services.register.domain.scb.codes import CODE_LIST, ScbCodes, in_force, parse_versions
from services.register.domain.scb.report import ScbReport, build_report
from services.register.domain.scb.rows import (
    ContactDay,
    Episode,
    EventRange,
    Measure,
    Named,
    Occupation,
    ScbRows,
    YouthRows,
)

__all__ = [
    "CODE_LIST",
    "Checks",
    "ContactDay",
    "Episode",
    "EventRange",
    "Finding",
    "Measure",
    "Named",
    "Occupation",
    "ScbCodes",
    "ScbReport",
    "ScbRows",
    "Severity",
    "YouthRows",
    "build_report",
    "in_force",
    "occupation_on",
    "parse_versions",
    "youth_records",
]
