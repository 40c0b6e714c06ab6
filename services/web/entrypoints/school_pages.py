"""The school's pages (skolans rapportör): a student's start, leaving or absence reported, one at a time or many in a CSV file.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from fastapi import APIRouter

from services.web.entrypoints.common import Web


def school_routes(web: Web) -> APIRouter:
    router = APIRouter()
    return router
