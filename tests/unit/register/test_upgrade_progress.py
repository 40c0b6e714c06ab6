"""What `/health` and the register's reads say while a start-up upgrade runs in the background
(`adapters/upgrade.py` `Upgrade`): nothing once it is in place; else what it is doing, with how
many of the topics' events the rebuild has read."""

from __future__ import annotations

import asyncio

from services.register.adapters.upgrade import PROJECTION_VERSION, Upgrade


def test_a_register_not_upgrading_serves_and_reports_nothing() -> None:
    assert Upgrade().why() is None
    assert asyncio.run(Upgrade().problems()) == []


def test_health_says_what_the_upgrade_is_doing_with_the_events_read() -> None:
    shown = Upgrade(active=True)
    assert (shown.why() or "").startswith("waiting for the upgrade another process")
    shown.stage = "rebuilding"
    assert "rebuilding the register from the topics after an upgrade (starting)" in (
        shown.why() or ""
    )
    shown.progress(1200, 48000)
    [problem] = asyncio.run(shown.problems())
    assert problem.startswith(
        "register upgrade: rebuilding the register from the topics after an upgrade "
        "(1200 of 48000 events read); its reads answer 503"
    )
    assert problem.endswith(f"(the old register is kept as register_before_v{PROJECTION_VERSION})")
    shown.stage = "swapping"
    assert (shown.why() or "").startswith("putting the rebuilt register in place")
    shown.active = False
    assert shown.why() is None
