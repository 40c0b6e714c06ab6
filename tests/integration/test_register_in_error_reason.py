"""Why a scope episode was registered in error, in the register (on the database): the reason code
and the sealed note identify publishes with the end (`YouthLeftScope.correction`) are kept with the
episode; the audit replay's list of episodes registered in error names the reason, the youth's
timeline and extract open the note as they open correction notes, retention shreds it (whichever
topic was read first), and an end published before the reason was carried still reads.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from services.register.adapters import readmodel
from services.register.adapters.extract_queries import timeline
from services.register.commands.replay import replay
from shared.contracts.events import Correction, PersonalDataPurged, YouthLeftScope
from tests.conftest import RunningInfra
from tests.integration.extract_support import (
    KEYS,
    TENANT,
    Extracts,
    Youth,
    extract,
    extracts,
    facts,
    pdf_text,
)
from tests.integration.register_support import register

__all__ = ["extracts", "register"]  # the fixtures

NOTE = "Personnumret gällde en annan person"


def in_error(youth: Youth, episode: uuid.UUID, correction: Correction | None) -> YouthLeftScope:
    return YouthLeftScope(
        **youth.envelope("user:cecilia"), scope_episode_id=episode, left_on=date(2026, 1, 5),
        reason="registered_in_error", rule_version="kaa-2018-07-01", correction=correction,
    )  # fmt: skip


def why(youth: Youth) -> Correction:
    return Correction(
        reason="wrong_youth", sealed_note=youth.sealed(NOTE, Correction.SEALED_PURPOSE)
    )


async def marked(
    extracts: Extracts,
    noted: bool = True,
) -> tuple[Youth, YouthLeftScope]:
    youth = Youth()
    entered = youth.identified()
    end = in_error(youth, entered.scope_episode_id, why(youth) if noted else None)
    await extracts.apply(youth, entered, end)
    return youth, end


async def test_the_replay_lists_who_marked_the_episode_when_and_why(
    infra: RunningInfra,
    extracts: Extracts,
    db_schema: str,
) -> None:
    youth, end = await marked(extracts)
    now = datetime.now(UTC)
    replayed = await replay(infra.database_url, TENANT, now, now, archive_schema=db_schema)
    [listed] = replayed["registered_in_error"]
    assert (listed["youth_id"], listed["in_error_actor"], listed["in_error_recorded_at"]) == (
        youth.id, "user:cecilia", end.recorded_at)  # fmt: skip
    assert (listed["in_error_reason"], listed["has_note"]) == ("wrong_youth", True)
    assert NOTE not in str(replayed), "the note is opened only in the youth's own timeline"
    assert await readmodel.registered_in_error(extracts.pool, TENANT) == [listed]
    before = await replay(infra.database_url, TENANT, end.recorded_at - timedelta(seconds=1),
                          now, archive_schema=db_schema)  # fmt: skip
    assert before["registered_in_error"] == []
    assert [y["youth_id"] for y in before["youths"]] == [youth.id]


async def test_the_youths_timeline_and_extract_open_the_note_and_word_the_reason(
    extracts: Extracts,
) -> None:
    youth, _ = await marked(extracts)
    shown = await timeline(extracts.pool, KEYS, TENANT, youth.id)
    [episode] = shown["scope_episodes"]
    assert (episode["in_error_reason"], episode["in_error_note"]) == ("wrong_youth", NOTE)
    assert episode["in_error_note_text"] == "open"
    assert "in_error_sealed_note" not in episode, "the sealed form is not shown"
    found = await extract(extracts, youth.id)
    [told] = found["scope_episodes"]
    assert (told["in_error_reason_text"], told["in_error_note"]) == (
        "registrerat på fel person", NOTE)  # fmt: skip
    assert told["in_error_role_text"]
    text = pdf_text(found)
    assert "Skäl: registrerat på fel person." in text
    assert NOTE in text
    assert [(f, w) for f, w in facts(found) if w not in text] == []


async def test_retention_shreds_the_note_whichever_topic_was_read_first(
    extracts: Extracts,
) -> None:
    def purged(youth: Youth) -> PersonalDataPurged:
        return PersonalDataPurged(
            **youth.envelope("system:retention"), left_on=date(2026, 1, 5), retention_days=730
        )

    live, _ = await marked(extracts)
    assert await extracts.pool.fetchval(
        "SELECT in_error_sealed_note IS NOT NULL FROM scope_episodes WHERE youth_id = $1", live.id
    )
    await extracts.apply(live, purged(live))
    rebuilt = Youth()  # a rebuild that read the retention topic before identify's end
    entered = rebuilt.identified()
    end = in_error(rebuilt, entered.scope_episode_id, why(rebuilt))
    await extracts.apply(rebuilt, entered)
    await extracts.apply(rebuilt, purged(rebuilt))
    await extracts.apply(rebuilt, end)
    rows = await extracts.pool.fetch(
        "SELECT youth_id, in_error_reason, in_error_sealed_note FROM scope_episodes"
        " WHERE youth_id = ANY($1)",
        [live.id, rebuilt.id],
    )
    assert {r["youth_id"]: (r["in_error_reason"], r["in_error_sealed_note"]) for r in rows} == {
        live.id: ("wrong_youth", None), rebuilt.id: ("wrong_youth", None)}  # fmt: skip


async def test_an_end_published_before_the_reason_was_carried_reads_without_one(
    extracts: Extracts,
) -> None:
    youth, _ = await marked(extracts, noted=False)
    [listed] = await readmodel.registered_in_error(extracts.pool, TENANT)
    assert (listed["in_error_reason"], listed["has_note"]) == (None, False)
    found = await extract(extracts, youth.id)
    [told] = found["scope_episodes"]
    assert told["registered_in_error"]
    assert (told["in_error_reason_text"], told["in_error_note"]) == (None, None)
    text = pdf_text(found)
    assert "Skäl:" not in text
    assert [(f, w) for f, w in facts(found) if w not in text] == []
