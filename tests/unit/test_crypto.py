"""Sealing personal data per youth: it opens only with the right key, tenant, youth and purpose."""

from __future__ import annotations

import base64
import sys
import threading
import time
import uuid

import pytest

from shared.crypto import (
    SEALED_PREFIX,
    DataKeyCache,
    SealedDataError,
    TenantKeys,
    YouthSealer,
    json_rows,
    new_data_key,
    open_sealed,
    open_text,
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
    with pytest.raises(ValueError, match=r"^master_key: must be at least 16 characters of secret$"):
        TenantKeys("fifteen chars..")
    assert (
        TenantKeys("sixteen chars...").unwrap(
            "0180", YOUTH, TenantKeys("sixteen chars...").wrap("0180", YOUTH, data_key)
        )
        == data_key
    )


# Written once by this code and kept: what the keyring and the event stores already hold must open
# after any change to the key derivation (HKDF-SHA256 with the tenant in `info`) or to the
# associated data (tenant, youth and purpose).
KNOWN_MASTER = "kaa known-answer master key, test only"
KNOWN_DATA_KEY = bytes(range(32))
KNOWN_WRAPPED = base64.b64decode(
    "28fYCLN2s6x2OdtYhsWD6aCOT21wUBcLR3jLjRXmzdY3+wxdHw5JJWbwHv1wgQuITefcyrN8b02ssS4L"
)
KNOWN_SEALED = "kaa1.cD3NJI1vYC6514ktuQQLITsLNHrX8lWkyTg6drTtcAHB7z6aO-HRom5uq6KZ"


def test_a_key_wrapped_before_still_opens_for_its_municipality_and_youth_only() -> None:
    keys = TenantKeys(KNOWN_MASTER)
    assert keys.unwrap("0180", YOUTH, KNOWN_WRAPPED) == KNOWN_DATA_KEY
    with pytest.raises(SealedDataError) as refused:
        keys.unwrap("0181", YOUTH, KNOWN_WRAPPED)
    assert str(refused.value) == f"data key of youth {YOUTH} in tenant 0181 fails authentication"


def test_text_sealed_before_still_opens() -> None:
    assert open_sealed(KNOWN_DATA_KEY, KNOWN_SEALED, "0180", YOUTH, "personal-details") == (
        b"Alva, Storgatan 1"
    )
    sealer = YouthSealer(KNOWN_DATA_KEY, "0180", YOUTH)
    assert sealer.digest(b"Alva", "plan-goal") == (
        "b43b3ca9af4df65ac978e0545ca851345dae941a7767abf110145fb7d6f3253f"
    )
    assert sealer.digest(b"Alva", "measure-content") != sealer.digest(b"Alva", "plan-goal")
    assert (
        open_sealed(KNOWN_DATA_KEY, sealer.seal(b"a goal", "plan-goal"), "0180", YOUTH, "plan-goal")
        == b"a goal"
    )


def test_refusals_name_the_purpose_and_the_youth() -> None:
    with pytest.raises(SealedDataError) as unknown:
        open_sealed(KNOWN_DATA_KEY, "kaa0.abc", "0180", YOUTH, "personal-details")
    assert str(unknown.value) == "personal-details: not sealed data of a known format"
    with pytest.raises(SealedDataError) as foreign:
        open_sealed(KNOWN_DATA_KEY, KNOWN_SEALED, "0180", OTHER, "personal-details")
    assert str(foreign.value) == (
        f"personal-details of youth {OTHER} fails authentication (tampered or not theirs)"
    )


def test_a_view_shows_open_redacted_or_tampered_text() -> None:
    assert open_text(KNOWN_DATA_KEY, KNOWN_SEALED, "0180", YOUTH, "personal-details") == (
        "open",
        b"Alva, Storgatan 1",
    )
    assert open_text(None, KNOWN_SEALED, "0180", YOUTH, "personal-details") == ("redacted", None)
    assert open_text(KNOWN_DATA_KEY, KNOWN_SEALED, "0180", OTHER, "personal-details") == (
        "tampered",
        None,
    )


def test_batch_rows_are_one_json_parameter_with_bytes_as_base64() -> None:
    rows = [{"tenant": "0180", "wrapped": b"\x00\x01\xfe", "subject": None}]
    assert json_rows(rows) == '[{"tenant":"0180","wrapped":"AAH+","subject":null}]'
    assert json_rows([]) == "[]"


def test_key_cache_is_bounded_per_municipality_and_in_age() -> None:
    cache = DataKeyCache(capacity=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    keys = {youth: new_data_key() for youth in (first, second, third)}
    cache.put("0180", first, keys[first])
    cache.put("0180", second, keys[second])
    assert cache.get("0180", first) == keys[first], "a full cache keeps all it may"
    assert cache.get("0180", second) == keys[second]
    cache.put("0180", third, keys[third])
    assert cache.get("0180", first) is None, "the oldest key left when the cache was full"
    assert cache.get("0180", third) == keys[third]
    assert cache.get("0181", third) is None, "keys are per municipality"
    cache.drop("0180", third)
    assert cache.get("0180", third) is None
    cache.drop("0180", third)  # dropping a key the cache does not hold is no error
    aged = DataKeyCache(max_age=0.0)
    aged.put("0180", first, new_data_key())
    assert aged.get("0180", first) is None, "an old key leaves memory (retention may destroy it)"


def test_a_full_key_cache_lets_the_least_recently_used_key_go() -> None:
    cache = DataKeyCache(capacity=2)
    first, second, third = (uuid.uuid4() for _ in range(3))
    cache.put("0180", first, new_data_key())
    cache.put("0180", second, new_data_key())
    assert cache.get("0180", first) is not None  # used again: the second is now the oldest use
    cache.put("0180", third, new_data_key())
    assert cache.get("0180", second) is None, "the least recently used key left"
    assert cache.get("0180", first) is not None, "a key in use stays"


def test_a_cached_key_leaves_memory_after_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cache = DataKeyCache()
    assert (cache.capacity, cache.max_age) == (100_000, 600.0)
    key = new_data_key()
    cache.put("0180", YOUTH, key)
    now[0] += 600.0
    assert cache.get("0180", YOUTH) == key, "held for exactly max_age seconds"
    now[0] += 0.001
    assert cache.get("0180", YOUTH) is None


def test_keys_nobody_asks_for_again_leave_memory_at_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cache = DataKeyCache(max_age=600.0)
    idle = [uuid.uuid4() for _ in range(3)]
    for youth in idle:
        cache.put("0180", youth, new_data_key())
    now[0] += 300.0
    busy = uuid.uuid4()
    cache.put("0180", busy, new_data_key())  # a sweep runs: nothing is old enough yet
    assert len(cache) == 4
    now[0] += 300.5
    assert cache.get("0180", busy) is not None, "a young key is kept"
    assert len(cache) == 1, "the idle keys, past their age, left without being asked for"


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


def test_the_key_cache_serves_threads_at_once_while_it_sweeps() -> None:
    """identify's feed batches, schedule and notifications share one cache from their threads:
    a sweep walking the keys while another thread puts one must not fail either."""
    cache = DataKeyCache(max_age=0.002)  # a sweep due every millisecond
    failures: list[str] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads change hands often, as under load

    def work(thread: int) -> None:
        try:
            for n in range(30_000):
                cache.put("0180", f"{thread}:{n}", b"k")
                cache.get("0180", f"{thread}:{n - 50}")
        except Exception as exc:  # what a thread met is the finding
            failures.append(type(exc).__name__)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    assert failures == []
