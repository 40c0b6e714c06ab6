"""When an SCB file may be exported: one rule for the HTTP route and `kaa register scb export`
(`commands/scb.py`): refused while the local checks find errors, unless forced; warnings never
stop it."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.register.adapters.scb_codes import scb_codes
from services.register.commands.scb import ExportRefused, check_export
from services.register.domain.period import half_year
from services.register.domain.scb import ScbReport
from services.register.domain.scb.checks import Finding, Severity

H1 = half_year("2026H1")


def report(*severities: Severity) -> ScbReport:
    findings = [
        Finding(severity, "occupation", "a problem", uuid.UUID(int=n), 1)
        for n, severity in enumerate(severities)
    ]
    return ScbReport("0180", H1, scb_codes(date(2026, 1, 1)), b"", 0, {}, findings)


def test_a_report_with_errors_is_refused_unless_forced() -> None:
    refused = report("error", "warning", "error")
    with pytest.raises(ExportRefused) as refusal:
        check_export(refused, force=False)
    assert refusal.value.report is refused
    assert str(refusal.value) == "report: has 2 errors"
    check_export(refused, force=True)


@pytest.mark.parametrize("severities", [(), ("warning",), ("warning", "warning")])
@pytest.mark.parametrize("force", [False, True])
def test_a_report_without_errors_is_exported_forced_or_not(
    severities: tuple[Severity, ...], force: bool
) -> None:
    check_export(report(*severities), force)
