"""The SS 12000 client's guards, on answers no well-behaved server gives (httpx's mock transport:
the real server is in the integration tests): a page token handed back again, an id not fit for
a path, a token that expired early."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from services.connect.adapters.ss12000 import Ss12000Client, Ss12000Error
from shared.connectors import Organiser

ORGANISER = Organiser(id="city", name="Staden", base_url="http://127.0.0.1:9/ss12000",
                      token_url="http://127.0.0.1:9/token", client_id="kaa")  # fmt: skip


def client(handler: Callable[[httpx.Request], httpx.Response]) -> Ss12000Client:
    return Ss12000Client(
        ORGANISER, "s3cret", httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )


def token_or(
    answer: Callable[[httpx.Request], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 600})
        return answer(request)

    return handle


async def test_a_page_token_handed_back_again_ends_the_sync_with_a_reason() -> None:
    answers = token_or(lambda r: httpx.Response(200, json={"data": [], "pageToken": "same"}))
    with pytest.raises(Ss12000Error, match="gave a pageToken it had given before"):
        async for _ in client(answers).persons(None, 10):
            pass


async def test_a_subscription_id_unfit_for_a_path_counts_as_gone() -> None:
    answers = token_or(
        lambda r: httpx.Response(
            201, json={"id": "../../persons", "expires": "2030-01-01T00:00:00Z"}
        )
    )
    with pytest.raises(Ss12000Error, match="a subscription answer without id and expires"):
        await client(answers).subscribe("kaa", "https://kaa.example.se/cb/x")
    with pytest.raises(Ss12000Error) as gone:
        await client(answers).renew("../../persons")
    assert gone.value.status == 404


async def test_a_token_refused_once_is_renewed_and_the_call_made_again() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Authorization", ""))
        if len(calls) == 1:
            return httpx.Response(401, json={"code": "expired", "message": "token expired"})
        return httpx.Response(200, json={"data": [{"id": "p"}], "pageToken": None})

    pages = [page async for page in client(token_or(answer)).persons(None, 10)]
    assert pages == [[{"id": "p"}]]
    assert calls == ["Bearer t", "Bearer t"]
