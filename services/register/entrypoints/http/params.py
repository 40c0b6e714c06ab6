"""What the register's routes share: bounded query parameters (offsets, instants a database can
hold, half-years), refusals that name the field and never the value, the caller's municipality's
view of the database, and the access log entries of a read.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, status
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from services.register.domain.period import Period as HalfYear
from services.register.domain.period import half_year
from shared import access_log
from shared.auth import Principal
from shared.contracts.text import Text
from shared.isolation import TenantScoped

MAX_OFFSET = 1_000_000_000
"""The largest offset a list takes (PostgreSQL's OFFSET is a 64-bit integer; no list is longer)."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]

EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)
_SPACE_FOR_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")
OFFSET_HINT = (
    "give the instant with its UTC offset: 2026-06-30T21:59:59Z, or 2026-06-30T23:59:59+02:00 "
    "written %2B02:00 in a URL"
)


def _plus_restored(value: Any) -> Any:
    """`…T23:59:59+02:00` written unencoded in a URL arrives as `…T23:59:59 02:00` (a `+` in a
    query string is a space): read it as the `+` it was."""
    if isinstance(value, str):
        return _SPACE_FOR_PLUS.sub(r"\1+\2", value)
    return value


def _plausible_instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("instant_without_offset", OFFSET_HINT)
    try:  # an offset can carry the instant past year 1 or 9999
        inside = EARLIEST_INSTANT <= value.astimezone(UTC) < LATEST_INSTANT
    except OverflowError:
        inside = False
    if not inside:
        raise PydanticCustomError(
            "instant_out_of_range", "is outside the instants the register holds (1900 to 8999)"
        )
    return value


Instant = Annotated[datetime, BeforeValidator(_plus_restored), AfterValidator(_plausible_instant)]
"""An instant with its UTC offset, in years a database holds; the unencoded `+` is accepted."""

PERIOD_PATTERN = r"^\d{4}H[12]$"
_PERIOD = re.compile(r"\d{4}H[12]")


def _half_year_name(value: str) -> str:
    if _PERIOD.fullmatch(value) is None:
        raise PydanticCustomError("period", "is not a half-year such as 2026H1 or 2026H2")
    return value


Period = Annotated[
    Text,
    AfterValidator(_half_year_name),
    Query(
        description="A half-year: 2026H1 or 2026H2.",
        json_schema_extra={"pattern": PERIOD_PATTERN},
    ),
]


def refused(
    field: str, problem: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> HTTPException:
    """An answer naming the field and the problem (never the value)."""
    return HTTPException(code, f"{field}: {problem}")


def half_year_of(name: str, today: date) -> HalfYear:
    """The half-year a (pattern-checked) period names, begun by `today`; never echoes it."""
    try:
        half = half_year(name)
    except ValueError:
        raise refused(
            "period", "is outside the years the register can hold (2015 to 2100)"
        ) from None
    if half.start > today:
        raise refused("period", "has not begun")
    return half


def scoped(request: Request, caller: Principal) -> TenantScoped:
    """The reader pool as the caller's municipality sees it (row-level security, adapters/access.py)."""
    return TenantScoped(request.app.state.reader, caller.tenant)


async def logged(
    request: Request,
    caller: Principal,
    youth_ids: Sequence[uuid.UUID],
    purpose: access_log.Purpose,
    what: str,
) -> None:
    """Write the access log entries of a read (one per youth)."""
    async with scoped(request, caller).acquire() as conn:
        await access_log.record(
            conn, access_log.Access(caller.tenant, caller.actor, purpose, what, "register"),
            youth_ids,
        )  # fmt: skip
