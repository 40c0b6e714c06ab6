"""`kaa scope explain`: what the scope engine decides for one person on one day, and why.

Reads the identify service's event store directly (it is the service's own code), never prints the
personnummer, and names the rule version and every fact the decision used.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.identify.application import IdentifyApplication
from services.identify.bootstrap import SCHEMA, tenant_policies
from shared.eventstore import eventsourcing_env
from shared.settings import ServiceSettings


def _application(settings: ServiceSettings) -> IdentifyApplication:
    """The identify service's store as its own code reads it (nothing is created)."""
    return IdentifyApplication(
        eventsourcing_env(settings.database_url.get_secret_value(), SCHEMA, create_table=False),
        pseudonym_key=settings.pseudonym_key.get_secret_value(),
        served=tenant_policies(settings),
        master_key=settings.master_key.get_secret_value(),
        settle=timedelta(seconds=settings.feed_settle),
    )


def explain(settings: ServiceSettings, tenant: str, number: str, at: date) -> list[str]:
    if tenant not in settings.tenants:
        raise ValueError(f"tenant: {tenant} is not served by this deployment (KAA_TENANTS)")
    application = _application(settings)
    try:
        result = application.explain(number, tenant, at)
    finally:
        application.close()
    if not result.known or result.decision is None:
        return [f"{tenant} {at}: this person is not known to the identify service"]
    decision = result.decision
    verdict = "IN SCOPE" if decision.in_scope else "not in scope"
    reason = f" (reason: {decision.leaving_reason})" if decision.leaving_reason else ""
    lines = [
        f"{tenant} {at}: {verdict}{reason}",
        f"rule version: {decision.rule_version}",
        f"youth id in {tenant}: {result.youth_id or '(none yet)'}",
        f"open scope episode now: {result.open_episode or '(none)'}",
        "facts used:",
    ]
    lines.extend(f"  {key}: {value}" for key, value in sorted(decision.facts.items()))
    waiting = result.pending
    if waiting is not None:
        sources = ", ".join(waiting.waiting_for) or "(none: decided on the release's next round)"
        lines[1:1] = [
            f"PENDING since {waiting.since:%Y-%m-%d %H:%M} UTC: new facts observed "
            f"{waiting.facts_observed_at:%Y-%m-%d %H:%M} UTC are not decided yet",
            f"  waiting for the watermark of: {sources}",
            f"  decided on the facts known by {waiting.settles_at:%Y-%m-%d %H:%M} UTC at the "
            "latest (KAA_FEED_SETTLE)",
            "  the decision below is what the facts known now would give",
        ]
    return lines


def pending(settings: ServiceSettings) -> list[str]:
    """`kaa scope pending`: per municipality, the persons waiting for their feeds' watermarks."""
    application = _application(settings)
    try:
        rows = application.pending_summary()
    finally:
        application.close()
    if not rows:
        return ["nobody waits for a feed: every person is decided"]
    lines = []
    for row in rows:
        sources = ", ".join(
            f"{s} {'complete up to ' + f'{at:%Y-%m-%d %H:%M} UTC' if at else 'has not reported'}"
            for s, at in row["complete_up_to"].items()
        )
        lines.append(
            f"{row['tenant']}: {row['waiting']} persons pending, {row['decidable']} decidable now; "
            f"the oldest since {row['oldest_since']:%Y-%m-%d %H:%M} UTC (decided by "
            f"{row['oldest_since'] + timedelta(seconds=settings.feed_settle):%Y-%m-%d %H:%M} UTC "
            f"at the latest)"
        )
        lines.append(f"  waits for: {sources or '(no source: decided as read)'}")
    return lines
