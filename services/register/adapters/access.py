"""The register's share of the isolation between municipalities (`shared/isolation.py`).

Every register table, the keyring and the export log get the tenant policy; the query API reads
as the register's reader role through `TenantScoped`, which may also append to the export log and
the access log.
"""

from __future__ import annotations

import asyncpg

from services.register.adapters.database import CONTENT_TABLES, SCHEMA
from shared.isolation import TenantScoped

PROTECTED = (*CONTENT_TABLES, "applied_events", "dead_events")
READABLE = (*(f"{SCHEMA}.{t}" for t in PROTECTED), "keyring.youth_keys")
WRITABLE = ("register_exports.events", "access_log.entries")
UNTENANTED = (f"{SCHEMA}.consumer_positions",)  # the event range an SCB file was built from
SERVICE = "register"

Database = asyncpg.Pool | TenantScoped
"""What the register's queries read from: the owner's pool (CLI, replays) or the scoped reader."""
