"""Marking a scope episode registered in error (`domain/in_error.py`): only the youth's own episode
in the coordinator's municipality, not twice; refusals name the field, never a value."""

from __future__ import annotations

from datetime import date

import pytest

from services.identify.domain.in_error import (
    IN_ERROR,
    AlreadyInError,
    EpisodeRecord,
    NoSuchEpisode,
    episode_to_mark,
)

RULE = "kaa-2018-07-01"
OPEN = EpisodeRecord("0180", "youth-a", "episode-1", date(2026, 1, 5), RULE)
ENDED = EpisodeRecord("0180", "youth-a", "episode-2", date(2025, 1, 5), RULE).left(
    date(2025, 6, 1), "enrolled"
)
ELSEWHERE = EpisodeRecord("0181", "youth-b", "episode-3", date(2026, 1, 5), RULE)
EPISODES = {e.scope_episode_id: e for e in (OPEN, ENDED, ELSEWHERE)}


def test_an_open_or_ended_episode_of_the_youth_may_be_marked() -> None:
    assert episode_to_mark(EPISODES, "0180", "youth-a", "episode-1") == OPEN
    assert episode_to_mark(EPISODES, "0180", "youth-a", "episode-2") == ENDED


@pytest.mark.parametrize(
    ("tenant", "youth", "episode"),
    [
        ("0180", "youth-a", "episode-9"),  # unknown
        ("0180", "youth-b", "episode-1"),  # another youth's
        ("0180", "youth-b", "episode-3"),  # another municipality's: the same answer
        ("0181", "youth-a", "episode-1"),
    ],
)
def test_another_youths_or_municipalitys_episode_is_not_found(
    tenant: str, youth: str, episode: str
) -> None:
    with pytest.raises(NoSuchEpisode) as refused:
        episode_to_mark(EPISODES, tenant, youth, episode)
    assert refused.value.field == "scope_episode_id"
    assert episode not in str(refused.value)


def test_an_episode_already_registered_in_error_is_refused() -> None:
    marked = {"episode-1": OPEN.left(OPEN.entered_on, IN_ERROR)}
    with pytest.raises(AlreadyInError) as refused:
        episode_to_mark(marked, "0180", "youth-a", "episode-1")
    assert str(refused.value) == "scope_episode_id: is already marked registered in error"
