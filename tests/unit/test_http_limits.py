"""Oversized request bodies are refused with 413 before a route parses them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from shared.runtime import BodyLimit

LIMIT = 4096


def client() -> TestClient:
    app = FastAPI()
    app.add_middleware(BodyLimit, limit=LIMIT)
    seen: list[int] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    app.state.seen = seen
    return TestClient(app)


def test_a_body_within_the_limit_passes() -> None:
    c = client()
    assert c.post("/echo", content=b"x" * LIMIT).json() == {"bytes": LIMIT}


def test_a_declared_oversized_body_is_refused_before_the_route() -> None:
    c = client()
    response = c.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert "request body" in response.json()["detail"]
    assert c.app.state.seen == []  # type: ignore[attr-defined]


def test_a_streamed_oversized_body_is_refused_as_it_grows() -> None:
    c = client()

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 1000

    response = c.post("/echo", content=chunks())
    assert response.status_code == 413
    assert c.app.state.seen == []  # type: ignore[attr-defined]
