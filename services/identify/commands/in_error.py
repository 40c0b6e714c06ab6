"""Marking a scope episode registered in error (a coordinator; issue 16): identify records it on
the person (`Person.RegisteredInError`) and publishes `YouthLeftScope(reason="registered_in_error")`
for the episode as of the day it began, so the register removes it from today's register and
reports and keeps it in the audit replay. The optional note is sealed with the youth's data key
(`Correction.SEALED_PURPOSE`) before it is recorded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.identify.adapters.store import IdentifyStore
from services.identify.domain import Person
from services.identify.domain.in_error import EpisodeRecord, MarkRefused, NoSuchEpisode
from shared.contracts.events.corrections import Correction, CorrectionReasonCode
from shared.crypto import seal


@dataclass(frozen=True)
class MarkInError:
    tenant: str
    youth_id: uuid.UUID
    scope_episode_id: uuid.UUID
    reason: CorrectionReasonCode
    actor: str
    correlation_id: uuid.UUID
    note: str | None = None


def mark_registered_in_error(store: IdentifyStore, command: MarkInError) -> EpisodeRecord:
    """Record the mark and return the episode as marked; `NoSuchEpisode` (youth or episode not
    the municipality's), `AlreadyInError`."""

    def work() -> EpisodeRecord:
        pid = store.person_of_youth(command.tenant, command.youth_id)
        cache: dict[uuid.UUID, Person] = {}
        if pid is not None:
            store.preload([pid], cache, verify=True)
        person = cache.get(pid) if pid is not None else None
        if person is None or person.youth_ids.get(command.tenant) != str(command.youth_id):
            raise NoSuchEpisode("youth_id")
        store.forget_unsaved_keys()
        store.load_data_keys([(command.tenant, command.youth_id)])
        sealed = None
        if command.note:
            key = store.data_key(command.tenant, command.youth_id, person.person_key)
            sealed = seal(key, command.note.encode(), command.tenant, command.youth_id,
                          Correction.SEALED_PURPOSE)  # fmt: skip
        marked = person.mark_registered_in_error(
            command.tenant, str(command.youth_id), str(command.scope_episode_id), command.reason,
            actor=command.actor, correlation_id=command.correlation_id, sealed_note=sealed,
        )  # fmt: skip
        store.save_tracked([person], None, 0, 0, read_model=store.keys_to_store())
        store.keys_saved()
        return marked

    done = store.retrying(work, refusals=(MarkRefused,))
    assert done is not None
    return done
