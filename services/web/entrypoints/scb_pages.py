"""The coordinator's figures: the SCB half-year report (check, export, history), the data quality drawn, and exports as CSV and Excel.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from fastapi import APIRouter

from services.web.entrypoints.common import Web


def scb_routes(web: Web) -> APIRouter:
    router = APIRouter()
    return router
