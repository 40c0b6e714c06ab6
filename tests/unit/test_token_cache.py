"""A verified token is not checked again until it expires (or five minutes pass); a token that
failed is checked in full every time."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import jwt
import pytest
from fastapi import HTTPException

from shared import token_cache
from shared.auth import TokenVerifier, issue_token
from shared.token_cache import VerifiedTokens

SECRET = "unit-test-secret-of-sufficient-length"


def token(lifetime: timedelta = timedelta(hours=1)) -> str:
    return issue_token(SECRET, subject="u1", tenant="0180", roles=["caseworker"],
                       lifetime=lifetime)  # fmt: skip


def test_the_same_token_is_verified_once_and_a_failing_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier, calls = TokenVerifier(SECRET), []
    original = jwt.decode

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting)
    good = token()
    first = asyncio.run(verifier.verify(good))
    assert asyncio.run(verifier.verify(good)) == first
    assert len(calls) == 1, "the second request reused the first check"
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(HTTPException) as refused:
            asyncio.run(verifier.verify(forged))
        assert refused.value.status_code == 401
    assert len(calls) == 3, "a token that failed is checked in full each time"


def test_a_kept_token_is_refused_once_it_expires_and_kept_at_most_max_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept = VerifiedTokens(leeway=30.0, max_tokens=2)
    now = time.time()
    kept.put("a", ({"exp": now + 3600}, frozenset({"0180"})))
    kept.put("b", ({"exp": now - 31}, frozenset({"0180"})))
    kept.put("c", ({"sub": "no exp"}, frozenset({"0180"})))
    assert kept.get("a") is not None
    assert kept.get("b") is None, "expired beyond the leeway: checked in full, and refused"
    assert kept.get("c") is None, "a token without exp is never kept"
    later = now + token_cache.MAX_AGE + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert kept.get("a") is None, "kept at most MAX_AGE seconds"
    for name in ("d", "e", "f"):
        kept.put(name, ({"exp": later + 3600}, frozenset({"0180"})))
    assert [kept.get(n) is not None for n in ("d", "e", "f")] == [False, True, True]


def test_an_expired_token_is_refused_after_having_been_kept() -> None:
    verifier = TokenVerifier(SECRET, leeway=0.0)
    short = token(lifetime=timedelta(seconds=1))
    asyncio.run(verifier.verify(short))
    time.sleep(1.2)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(verifier.verify(short))
    assert refused.value.detail == "token expired"
