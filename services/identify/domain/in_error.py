"""Scope episodes by id, and the rule for marking one registered in error (issue 16).

A coordinator says an episode should never have been recorded (felregistrering): the person keeps
it, marked, and identify tells the register the episode ended `registered_in_error` as of the day
it began, so it leaves today's register and reports and stays in the audit replay. Pure: the
`Person` aggregate keeps the `EpisodeRecord`s and asks `episode_to_mark` before it records.

Refusals name the field and the reason, never a value; another municipality's youth or episode
gets the same answer as an unknown one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol, TypeVar

from services.identify.domain.episodes import Enter

IN_ERROR = "registered_in_error"


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """One scope episode as the person knows it by id."""

    tenant: str
    youth_id: str
    scope_episode_id: str
    entered_on: date
    rule_version: str
    left_on: date | None = None
    left_reason: str | None = None

    def left(self, left_on: date, reason: str) -> EpisodeRecord:
        return replace(self, left_on=left_on, left_reason=reason)


class MarkRefused(Exception):
    """Marking an episode registered in error refused: `field` and `reason`, never a value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class NoSuchEpisode(MarkRefused):
    def __init__(self, field: str = "scope_episode_id") -> None:
        what = "youth" if field == "youth_id" else "scope episode of the youth"
        super().__init__(field, f"no such {what} in your municipality")


class AlreadyInError(MarkRefused):
    def __init__(self) -> None:
        super().__init__("scope_episode_id", "is already marked registered in error")


def episode_to_mark(
    episodes: Mapping[str, EpisodeRecord], tenant: str, youth_id: str, scope_episode_id: str
) -> EpisodeRecord:
    """The episode a coordinator of `tenant` may mark registered in error: the youth's own in
    that municipality (else `NoSuchEpisode`), not already so marked (else `AlreadyInError`)."""
    found = episodes.get(scope_episode_id)
    if found is None or found.tenant != tenant or found.youth_id != youth_id:
        raise NoSuchEpisode
    if found.left_reason == IN_ERROR:
        raise AlreadyInError
    return found


class _Step(Protocol):
    @property
    def tenant(self) -> str: ...


Step = TypeVar("Step", bound=_Step)
Facts = TypeVar("Facts")


def without_marked(
    steps: Iterable[Step],
    marked_on: Mapping[str, Facts | None],
    facts_of: Callable[[str], Facts | None],
) -> Iterator[Step]:
    """The scope steps less the openings in a municipality where an episode was marked registered
    in error on the very facts the person has now: the coordinator has said these facts do not put
    the youth in scope there, so no episode re-opens on them; once a fact changes (a new
    registration, enrolment or notification), the scope engine decides afresh. A closing is never
    held back: an episode open beside an earlier one marked in error still ends (the 20th
    birthday comes on the same facts)."""
    for step in steps:
        opens = isinstance(step, Enter)
        if opens and step.tenant in marked_on and marked_on[step.tenant] == facts_of(step.tenant):
            continue
        yield step
