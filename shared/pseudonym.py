"""Pseudonymous keys derived from a personnummer with a secret key (HMAC-SHA256).

Used where a stable key is needed without carrying the personnummer: the Kafka key of feed records
and the identity index of the identify service. Youth ids in integration events are random UUIDs,
not derived from the personnummer, so events alone cannot be linked back to a person.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

_NAMESPACE = uuid.UUID("8f0a3c52-6a43-4d8e-9a35-0c1f0a6b9e11")


def person_key(personnummer_12: str, secret: str) -> str:
    """Hex HMAC of the normalized personnummer; the same person always gets the same key."""
    return hmac.new(secret.encode(), personnummer_12.encode(), hashlib.sha256).hexdigest()


def person_id(key: str) -> uuid.UUID:
    """Aggregate id of the person in identify's event store, derived from the person key."""
    return uuid.uuid5(_NAMESPACE, key)
