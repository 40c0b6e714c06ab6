"""The web's one sealing (services/web/adapters/sealing.py) keeps the formats it replaced: a session
token sealed in the table and a sign-in cookie sealed before still open, and what it seals now
opens with the construction written out by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.web.adapters import sessions
from services.web.adapters.oidc import Sealer
from services.web.adapters.sealing import SealingKey


def old_session_aead(session_id: str) -> AESGCM:
    """The session table's key as `sessions._aead` derived it before."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kaa-web-session").derive(
        session_id.encode()
    )
    return AESGCM(key)


def old_cookie_seal(secret: str, purpose: str, value: dict[str, str]) -> str:
    """A sign-in cookie as `oidc.Sealer.seal` sealed it before."""
    key = HKDF(hashes.SHA256(), 32, salt=None, info=f"kaa web {purpose}".encode())
    aead = AESGCM(key.derive(secret.encode()))
    nonce = secrets.token_bytes(12)
    sealed = nonce + aead.encrypt(nonce, json.dumps(value).encode(), purpose.encode())
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def test_a_session_token_sealed_by_the_old_code_opens_and_a_new_one_opens_the_old_way() -> None:
    session_id = secrets.token_urlsafe(32)
    aad = hashlib.sha256(session_id.encode()).digest()
    nonce = secrets.token_bytes(12)
    stored = nonce + old_session_aead(session_id).encrypt(nonce, b"the token", aad)
    assert sessions._key(session_id).open(stored, aad) == b"the token"
    assert sessions._hash(session_id) == aad
    sealed = sessions._key(session_id).seal(b"the token", aad)
    assert old_session_aead(session_id).decrypt(sealed[:12], sealed[12:], aad) == b"the token"


def test_a_sign_in_cookie_sealed_by_the_old_code_opens() -> None:
    cookie = old_cookie_seal("deployment-secret", "oidc cookies", {"state": "s"})
    assert Sealer("deployment-secret", "oidc cookies").open(cookie) == {"state": "s"}
    assert Sealer("another-secret", "oidc cookies").open(cookie) is None


def test_another_key_or_binding_or_a_changed_byte_does_not_open() -> None:
    sealed = SealingKey(b"secret", b"use").seal(b"value", b"here")
    for key, aad, value in (
        (SealingKey(b"other", b"use"), b"here", sealed),
        (SealingKey(b"secret", b"other use"), b"here", sealed),
        (SealingKey(b"secret", b"use"), b"elsewhere", sealed),
        (SealingKey(b"secret", b"use"), b"here", sealed[:-1] + bytes([sealed[-1] ^ 1])),
    ):
        with pytest.raises(InvalidTag):
            key.open(value, aad)
