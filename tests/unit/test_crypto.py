"""Sealing personal data per youth: it opens only with the right key, tenant, youth and purpose."""

from __future__ import annotations

import base64
import uuid

import pytest

from shared.crypto import (
    SEALED_PREFIX,
    DataKeyCache,
    SealedDataError,
    TenantKeys,
    new_data_key,
    open_sealed,
    seal,
)

YOUTH = uuid.UUID("6f1c1a5e-52a4-4d6f-9a7e-3f1f6b9c2a01")
OTHER = uuid.UUID("0d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
SECRET = b'{"personnummer": "200801012384", "given_name": "Alva"}'


def test_sealed_data_opens_with_its_key_and_binding() -> None:
    key = new_data_key()
    sealed = seal(key, SECRET, "0180", YOUTH, "personal-details")
    assert sealed.startswith(SEALED_PREFIX)
    assert b"200801012384" not in sealed.encode()
    assert "Alva" not in sealed
    assert open_sealed(key, sealed, "0180", YOUTH, "personal-details") == SECRET
    assert seal(key, SECRET, "0180", YOUTH, "personal-details") != sealed, "a fresh nonce each time"


@pytest.mark.parametrize(
    ("tenant", "youth", "purpose"),
    [("0181", YOUTH, "personal-details"), ("0180", OTHER, "personal-details"),
     ("0180", YOUTH, "contact-details")],
)  # fmt: skip
def test_sealed_data_does_not_open_bound_elsewhere(
    tenant: str, youth: uuid.UUID, purpose: str
) -> None:
    key = new_data_key()
    sealed = seal(key, SECRET, "0180", YOUTH, "personal-details")
    with pytest.raises(SealedDataError) as refused:
        open_sealed(key, sealed, tenant, youth, purpose)
    assert "200801012384" not in str(refused.value)


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    key = new_data_key()
    sealed = seal(key, SECRET, "0180", YOUTH, "personal-details")
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(SEALED_PREFIX) :]))
    raw[20] ^= 0x01
    tampered = SEALED_PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()
    for bad in (tampered, sealed[:-8], "plain text", SEALED_PREFIX + "!!"):
        with pytest.raises(SealedDataError):
            open_sealed(key, bad, "0180", YOUTH, "personal-details")
    with pytest.raises(SealedDataError):
        open_sealed(new_data_key(), sealed, "0180", YOUTH, "personal-details")


def test_data_keys_are_wrapped_per_tenant_and_youth() -> None:
    keys = TenantKeys("a master key of enough length")
    data_key = new_data_key()
    wrapped = keys.wrap("0180", YOUTH, data_key)
    assert data_key not in wrapped
    assert keys.unwrap("0180", YOUTH, wrapped) == data_key
    assert TenantKeys("a master key of enough length").unwrap("0180", YOUTH, wrapped) == data_key
    for tenant, youth in (("0181", YOUTH), ("0180", OTHER)):
        with pytest.raises(SealedDataError):
            keys.unwrap(tenant, youth, wrapped)
    with pytest.raises(SealedDataError):
        TenantKeys("another master key entirely").unwrap("0180", YOUTH, wrapped)
    with pytest.raises(ValueError, match="master_key"):
        TenantKeys("short")


def test_key_cache_is_bounded_and_reports_what_it_lacks() -> None:
    cache = DataKeyCache(capacity=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    for youth in (first, second, third):
        cache.put("0180", youth, new_data_key())
    assert cache.get("0180", first) is None, "the oldest key left when the cache was full"
    assert cache.missing([("0180", first), ("0180", third)]) == [("0180", first)]
    cache.drop("0180", third)
    assert cache.get("0180", third) is None
    aged = DataKeyCache(max_age=0.0)
    aged.put("0180", first, new_data_key())
    assert aged.get("0180", first) is None, "an old key leaves memory (retention may destroy it)"
    assert aged.missing([("0180", first)]) == [("0180", first)]


def test_personal_data_goes_unsealed_only_in_a_benchmark_namespace() -> None:
    from pydantic import ValidationError

    from shared.settings import ServiceSettings

    common: dict[str, str] = {
        "kafka_bootstrap_servers": "127.0.0.1:9",
        "database_url": "postgresql://x:y@127.0.0.1:9/x",
        "token_secret": "t" * 32,
        "pseudonym_key": "p" * 32,
        "master_key": "m" * 32,
        "personal_data": "unsealed-benchmark-only",
    }
    with pytest.raises(ValidationError, match="personal_data: unsealed personal data is for"):
        ServiceSettings.model_validate(common | {"namespace": "demo."})
    benchmark = ServiceSettings.model_validate(common | {"namespace": "bench-x."})
    assert benchmark.personal_data == "unsealed-benchmark-only"
