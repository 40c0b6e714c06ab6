"""The coordinator's pages (samordnare): the team overview and assigning many youths at once, the municipality's rules and the measure catalogue with their history.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from fastapi import APIRouter

from services.web.entrypoints.common import Web


def coordinator_routes(web: Web) -> APIRouter:
    router = APIRouter()
    return router
