"""The inspector's pages (granskare): the register as of an instant beside another, a youth's timeline as of an instant, the access log; read-only.

No `from __future__ import annotations`: FastAPI must see the dependency annotations.
"""

from fastapi import APIRouter

from services.web.entrypoints.common import Web


def inspector_routes(web: Web) -> APIRouter:
    router = APIRouter()
    return router
