"""Which claims of the identity provider's tokens say kaa's roles and municipality
(`KAA_TOKEN_CLAIMS`), read alike by the services (`shared.auth`, the access token) and by the web
application's sign-in (the same access token), so both see the same user.

A municipality's identity provider rarely names its claims as kaa does (`roles`, `tenant`): it
may put its groups in `groups` and the kommunkod in `kommunkod`, with group names of its own. The
setting is JSON:

    {"roles": "groups", "role_map": {"KAA-Handlaggare": "caseworker"}, "tenant": "kommunkod"}

- `roles`: the claim holding the roles or groups (a list, or one string);
- `role_map`: the provider's group name -> kaa role; when given, only the groups it names count
  (every other group is ignored); when empty, the claim's values are kaa's role names themselves;
- `tenant`: the claim holding the kommunkod (one string; a list of several is a consortium user's);
- `teams`: the claim holding the user's teams (a list, or one string), as team codes the way a
  coordinator assigns a case to a team (letters, digits, `_ . -`); other values are ignored.
  Optional: a user without teams simply has no "my team" list.

The defaults are kaa's own claim names, so a token that already speaks kaa's claims passes as is.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.text import text_problem

# kaa's roles, as `shared.auth.ROLES` (kept here too: auth imports this module).
KAA_ROLES = frozenset(
    {"caseworker", "coordinator", "school-reporter", "inspector", "consortium-admin", "operator"}
)
_CLAIM = r"^[A-Za-z0-9_.:/-]{1,100}$"
_TEAM = re.compile(r"[A-Za-z0-9_.-]{1,120}")  # as an assignment names a team


class ClaimMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: str = Field(default="roles", pattern=_CLAIM)
    role_map: dict[str, str] = Field(default_factory=dict, max_length=200)
    tenant: str = Field(default="tenant", pattern=_CLAIM)
    teams: str = Field(default="teams", pattern=_CLAIM)

    @field_validator("role_map")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({role for role in value.values() if role not in KAA_ROLES})
        if unknown:
            raise ValueError(
                f"role_map: {len(unknown)} value(s) are not kaa roles "
                f"(known: {', '.join(sorted(KAA_ROLES))})"
            )
        if any(not group or len(group) > 200 for group in value):
            raise ValueError("role_map: a group name is empty or longer than 200 characters")
        return value

    @property
    def is_identity(self) -> bool:
        return (
            self.roles == "roles"
            and self.tenant == "tenant"
            and self.teams == "teams"
            and not self.role_map
        )

    def apply(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims with kaa's `roles` and `tenant`/`tenants` taken from the provider's
        claims; values that are not of their shape are left for `shared.auth` to refuse."""
        if self.is_identity:
            return claims
        kaas = ("roles", "tenant", "tenants", "teams")
        mapped = {k: v for k, v in claims.items() if k not in kaas}
        teams = claims.get(self.teams)
        if teams is not None:
            mapped["teams"] = [teams] if isinstance(teams, str) else teams
        groups = claims.get(self.roles)
        if isinstance(groups, str):
            groups = [groups]
        if self.role_map and isinstance(groups, list):
            groups = sorted(
                {self.role_map[g] for g in groups if isinstance(g, str) and g in self.role_map}
            )
        mapped["roles"] = groups if groups is not None else []
        where = claims.get(self.tenant)
        if isinstance(where, list):
            mapped["tenants"] = where
        elif where is not None:
            mapped["tenant"] = where
        return mapped


def known_roles(roles: object) -> list[str]:
    """The kaa roles among a mapped token's `roles`."""
    if not isinstance(roles, list):
        return []
    return sorted({r for r in roles if isinstance(r, str) and r in KAA_ROLES})


def teams_of(claims: dict[str, Any]) -> frozenset[str]:
    """The team codes among a checked token's `teams` (none when it has no such claim)."""
    teams = claims.get("teams")
    if not isinstance(teams, list):
        return frozenset()
    return frozenset(t for t in teams if isinstance(t, str) and _TEAM.fullmatch(t))


# OpenID Connect allows 255 ASCII characters; kaa records `user:<sub>` in an Actor of at most 120.
MAX_SUBJECT_LENGTH = 115
_KOMMUNKOD = re.compile(r"[0-9]{4}")


def is_kommunkod(value: object) -> bool:
    return isinstance(value, str) and _KOMMUNKOD.fullmatch(value) is not None


_SUBJECT = re.compile(r"[A-Za-z0-9_.@:-]+")


def subject_problem(subject: object) -> str | None:
    """Why `subject` cannot be a token's `sub` (the actor of everything the caller does)."""
    if not isinstance(subject, str):
        return "is not a string"
    if not subject.strip():
        return "is empty"
    if len(subject) > MAX_SUBJECT_LENGTH:
        return f"is longer than {MAX_SUBJECT_LENGTH} characters"
    problem = text_problem(subject)
    if problem is not None:
        return problem
    if _SUBJECT.fullmatch(subject) is None:
        # Everything the caller does is recorded as `user:<sub>` (the events' Actor): a subject
        # that cannot be recorded would be accepted and then never reach the register.
        return "is not an identifier kaa can record (letters A-Z, digits and _ . @ : -)"
    return None
