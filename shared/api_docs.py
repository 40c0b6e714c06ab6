"""Each service's API documentation: `/docs` (Swagger UI) and `/openapi.json`.

Swagger UI is served from files shipped inside kaa (`shared/static/swagger-ui/`, swagger-ui-dist
5.35.0 from the npm registry, Apache-2.0; see its LICENSE and NOTICE there), never from a CDN: a
municipality's network that reaches nothing outside still shows the documentation.

The OpenAPI document says what a client really meets: the bearer token every operation requires,
the optional `X-Kaa-Tenant` header of a consortium token, and the error body every refusal carries
(`{"detail": ..., "errors": [{"field", "problem"}]}`) under 401, 403, 404, 409, 413 and 422.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.auth import TENANT_HEADER

ASSETS = Path(__file__).parent / "static" / "swagger-ui"
ASSETS_URL = "/docs/assets"
SECURITY_SCHEME = "bearer"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "description": "Every refusal: what went wrong, and for each field the problem (never the "
    "submitted value).",
    "required": ["detail"],
    "properties": {
        "detail": {
            "anyOf": [{"type": "string"}, {"type": "object"}],
            "description": "A summary: `invalid request`, `not allowed now`, or `field: problem`.",
        },
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldProblem"},
            "description": "One entry per field refused.",
        },
    },
}
FIELD_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "FieldProblem",
    "type": "object",
    "required": ["field", "problem"],
    "properties": {
        "field": {"type": "string", "description": "Where: `body.on`, `query.as_of`, `youth_id`."},
        "problem": {"type": "string", "description": "Why, without the value."},
    },
}
ERROR_RESPONSES: dict[str, str] = {
    "401": "No valid bearer token (missing, expired, not signed by a trusted key).",
    "403": "The token's roles or municipalities do not allow this.",
    "404": "No such youth or resource in the caller's municipality (another municipality's is "
    "not disclosed).",
    "409": "Not allowed in the case's present state, or a client id taken by different content.",
    "413": "The request body is larger than a request may carry.",
    "422": "A parameter or body field is invalid; each is named with its problem.",
}
TENANT_PARAMETER: dict[str, Any] = {
    "name": TENANT_HEADER,
    "in": "header",
    "required": False,
    "description": "The municipality a consortium token acts for (one of the token's).",
    "schema": {"type": "string", "pattern": r"^\d{4}$"},
}
_METHODS = {"get", "put", "post", "delete", "patch"}


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the bearer scheme, the tenant header and the error answers to every operation."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token naming the caller (`sub`), roles and municipality "
        "(`kaa token --tenant 0180 --role caseworker` in development).",
    }
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["FieldProblem"] = FIELD_PROBLEM_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    schema["security"] = [{SECURITY_SCHEME: []}]
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            operation["security"] = [{SECURITY_SCHEME: []}]
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == TENANT_HEADER for p in parameters):
                parameters.append(dict(TENANT_PARAMETER))
            responses = operation.setdefault("responses", {})
            for code, text in ERROR_RESPONSES.items():
                responses[code] = {"description": text, "content": error}
    # FastAPI's own validation error shape is never sent (the handler answers with Error).
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def document(app: FastAPI, *, title: str, description: str = "") -> None:
    """Serve `/docs` from the shipped Swagger UI and `/openapi.json` as `describe` makes it.

    The app must be made with `docs_url=None, redoc_url=None` (the defaults load a CDN)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe(
                get_openapi(
                    title=title, version=app.version, description=description, routes=app.routes
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
