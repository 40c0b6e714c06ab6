"""Each served municipality's scope policy, read from the service's settings."""

from __future__ import annotations

import re
from datetime import date

from services.identify.domain.scope import TenantPolicy
from shared import connectors
from shared.contracts.feeds import SOURCE_PATTERN
from shared.settings import ServiceSettings


def tenant_policies(settings: ServiceSettings) -> dict[str, TenantPolicy]:
    """Each served municipality's policy: the defaults, overridden by KAA_TENANT_POLICIES. With
    KAA_CONNECTORS_FILE, the source `ss12000` stands for the municipality's organisers."""
    unknown = set(settings.tenant_policies) - set(settings.tenants)
    if unknown:
        raise ValueError(f"KAA_TENANT_POLICIES: {sorted(unknown)} are not in KAA_TENANTS")
    connected = (
        connectors.load(settings.connectors_file, settings.tenants)
        if settings.connectors_file
        else connectors.Connectors({})
    )
    policies = {}
    for tenant in settings.tenants:
        given = dict(settings.tenant_policies.get(tenant, {}))
        sources = given.pop("feed_sources", settings.feed_sources)
        if not isinstance(sources, list) or not all(
            isinstance(s, str) and re.fullmatch(SOURCE_PATTERN, s) for s in sources
        ):
            raise ValueError(
                f"KAA_TENANT_POLICIES[{tenant}]: feed_sources must be a list of source names"
            )
        if "go_live" in given:
            try:
                given["go_live"] = date.fromisoformat(str(given["go_live"]))
            except ValueError:
                raise ValueError(
                    f"KAA_TENANT_POLICIES[{tenant}]: go_live must be a date, YYYY-MM-DD"
                ) from None
        try:
            policies[tenant] = TenantPolicy(
                **given, feed_sources=connectors.sources(sources, connected.organisers(tenant))
            )
        except TypeError as exc:
            raise ValueError(f"KAA_TENANT_POLICIES[{tenant}]: {exc}") from None
    return policies
