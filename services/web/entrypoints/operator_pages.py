"""The operator's and the consortium administrator's pages: the platform's health, lag, dead letters and parked events; the member municipalities.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from fastapi import APIRouter

from services.web.entrypoints.common import Web


def operator_routes(web: Web) -> APIRouter:
    router = APIRouter()
    return router
