"""The web application's one way of sealing a small value (AES-256-GCM with a key derived by
HKDF-SHA256 from a secret): the sign-in flow's cookie (`oidc.Sealer`, a key from the deployment's
token secret) and the user's token in the session table (`sessions`, a key from the session id).

Sealed bytes are a random 12-byte nonce followed by the ciphertext and its tag; `aad` binds them to
where they belong. The construction is fixed: values sealed before stay readable."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SealingKey:
    """A key derived from `secret` for one use (`info`); `open` raises for anything not sealed
    by the same key and `aad` (tampered, truncated, another key)."""

    def __init__(self, secret: bytes, info: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
