"""The read pool's connections remember which municipality they are set to, so a read does not pay
a round trip to set it again (shared/isolation.py sets `kaa.tenant` on every acquire).

Under load each round trip on the event loop waits behind every other request's step: setting the
same municipality again on a connection that has it cost a worklist read as much as its query
(measured). Row-level security is unchanged: the reads still run as the reader role, under
`kaa.tenant`, which a connection here holds for the municipality asked for before it is handed
out. What a connection remembers is cleared before the setting is sent, so a read cancelled
midway leaves it unknown (set again next time); it is trusted only outside a transaction (a
transaction rolled back would take a setting made inside it with it). Every reader connection of a
caseworker service is handed out through `CaseRuntime.scoped`, which is this.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from shared.isolation import SETTING, Connection, TenantScoped

SET_TENANT = f"SELECT set_config('{SETTING}', $1, false)"


class TenantConnection(asyncpg.Connection):
    """A reader connection that knows the municipality it was last set to (None: not known)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kaa_tenant: str | None = None

    def tenant_set(self) -> str | None:
        return self._kaa_tenant

    def note_tenant(self, tenant: str | None) -> None:
        self._kaa_tenant = tenant

    async def reset(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's)
        """A pool's reset on release (RESET ALL, unless the pool keeps sessions) clears it."""
        self._kaa_tenant = None
        await super().reset(timeout=timeout)


class RememberedTenant(TenantScoped):
    """`TenantScoped` that sets the municipality only on a connection not known to hold it."""

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn:
            # The pool's connection (a proxy hands its methods on); a pool made without
            # `TenantConnection` gets the municipality set on every acquire.
            remembers: Any = conn if hasattr(conn, "note_tenant") else None
            known = remembers.tenant_set() if remembers is not None else None
            if known != self.tenant or conn.is_in_transaction():
                if remembers is not None:
                    remembers.note_tenant(None)  # unknown until the setting is confirmed
                await conn.execute(SET_TENANT, self.tenant)
                if remembers is not None and not conn.is_in_transaction():
                    remembers.note_tenant(self.tenant)
            yield conn
