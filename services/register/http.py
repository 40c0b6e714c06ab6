"""Register query API (caseworkers, coordinators, inspectors; tenant from the token).

Every answer names the field and the problem and never echoes a submitted value: query parameters
are bounded (offsets, limits, instants a database can hold) and validated by type or pattern.
"""

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from services.register import quality, queries, scb
from services.register.identity import identities
from shared import access_log
from shared.auth import Principal
from shared.contracts.text import Text
from shared.crypto import TenantKeys
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


def half_year_of(name: str, today: date) -> quality.Period:
    """The half-year a (pattern-checked) period names, begun by `today`; never echoes it."""
    try:
        half = quality.half_year(name)
    except ValueError:
        raise refused(
            "period", "is outside the years the register can hold (2015 to 2100)"
        ) from None
    if half.start > today:
        raise refused("period", "has not begun")
    return half


class YouthRow(BaseModel):
    youth_id: uuid.UUID
    status: str
    scope_episode_id: uuid.UUID
    entered_on: date
    scope_ends_on: date
    left_on: date | None
    left_reason: str | None
    rule_version: str
    contacts: int
    measures: int


class YouthPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[YouthRow]


def scoped(request: Request, caller: Principal) -> TenantScoped:
    """The reader pool as the caller's municipality sees it (row-level security, access.py)."""
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


Replayer = Callable[[str, datetime, uuid.UUID | None], Awaitable[dict[str, Any]]]


def routes(
    reader: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
    inspector: Callable[..., Awaitable[Principal]] | None = None,
    replayer: Replayer | None = None,
    operations: Callable[..., Awaitable[Principal]] | None = None,
    *,
    keys: TenantKeys,
) -> APIRouter:
    """The register's reads. `keys` open the caseworkers' words in a youth's timeline (plan
    revisions, measures' content), sealed with the youth's data key."""
    router = APIRouter(prefix="/v1")
    Reader = Annotated[Principal, Depends(reader)]
    Operations = Annotated[Principal, Depends(operations or reader)]
    Inspector = Annotated[Principal, Depends(inspector or reader)]

    async def replayed(as_of: datetime, tenant: str, youth_id: uuid.UUID | None) -> dict[str, Any]:
        if replayer is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "audit replay is not served here")
        try:
            return await replayer(tenant, as_of, youth_id)
        except ValueError as exc:  # replay.py's messages name the field, never the value
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None

    AsOf = Annotated[
        Instant,
        Query(
            description="An instant with its UTC offset: 2026-06-30T21:59:59Z, or "
            "2026-06-30T23:59:59%2B02:00 (an unencoded + is read as one)."
        ),
    ]

    @router.get("/audit/register")
    async def audit_register(request: Request, caller: Inspector, as_of: AsOf) -> dict[str, Any]:
        """The register exactly as it stood at `as_of` (inspectors; only events recorded by then;
        the live register is not touched). Every youth it shows is in the access log."""
        replay = await replayed(as_of, caller.tenant, None)
        shown = [row["youth_id"] for row in replay["youths"]]
        await logged(request, caller, shown, "audit-replay", f"whole register as of {as_of}")
        return replay

    @router.get("/audit/youths/{youth_id}")
    async def audit_youth(
        youth_id: uuid.UUID,
        request: Request,
        caller: Inspector,
        as_of: AsOf,
    ) -> dict[str, Any]:
        """One youth's register content as it stood at `as_of`: scope episodes with their rule
        versions, contacts, occupations, plan revisions and measures, with who recorded them."""
        replay = await replayed(as_of, caller.tenant, youth_id)
        if replay["youth"] is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality then"
            )
        await logged(request, caller, [youth_id], "audit-replay", f"register as of {as_of}")
        replay["youth"] = await queries.open_free_text(
            scoped(request, caller), keys, caller.tenant, youth_id, replay["youth"]
        )
        return replay

    @router.get("/youths", response_model=YouthPage)
    async def list_youths(
        request: Request,
        caller: Reader,
        status_filter: Annotated[
            queries.YouthStatus | None,
            Query(alias="status", description="in_scope or out_of_scope"),
        ] = None,
        in_scope_on: Annotated[date | None, Query(description="In scope on this day.")] = None,
        occupation: Annotated[
            Literal["known", "unknown"] | None,
            Query(description="Occupation confirmed within currency_days before today, or not."),
        ] = None,
        currency_days: Annotated[int, Query(ge=14, le=365)] = 90,
        contacted: Annotated[
            bool | None,
            Query(description="With (true) or without (false) a contact attempt in the period."),
        ] = None,
        contacted_from: Annotated[date | None, Query()] = None,
        contacted_to: Annotated[date | None, Query()] = None,
        measure_type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
        assignee: Annotated[Text | None, Query(min_length=1, max_length=120)] = None,
        sort: Annotated[queries.SortKey, Query()] = "entered_on",
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Offset = 0,
    ) -> YouthPage:
        """The municipality's youths, filtered, sorted and paginated."""
        if contacted_from and contacted_to and contacted_to < contacted_from:
            raise refused("contacted_to", "is before contacted_from")
        filters = queries.YouthFilter(
            status=status_filter,
            in_scope_on=in_scope_on,
            occupation=occupation,
            occupation_as_of=today(),
            currency_days=currency_days,
            contacted=contacted,
            contacted_from=contacted_from,
            contacted_to=contacted_to,
            measure_type=measure_type,
            assignee=assignee,
            sort=sort,
            descending=order == "desc",
        )
        total, rows = await queries.list_youths(
            scoped(request, caller), caller.tenant, status_filter, limit, offset, filters
        )
        return YouthPage(
            total=total, limit=limit, offset=offset, items=[YouthRow(**r) for r in rows]
        )

    @router.get("/youths/{youth_id}")
    async def youth(youth_id: uuid.UUID, request: Request, caller: Reader) -> dict[str, Any]:
        timeline = await queries.youth_timeline(scoped(request, caller), caller.tenant, youth_id)
        if timeline is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality"
            )
        await logged(request, caller, [youth_id], "register", "register timeline")
        return await queries.open_free_text(
            scoped(request, caller), keys, caller.tenant, youth_id, timeline
        )

    @router.get("/quality")
    async def data_quality(
        request: Request,
        caller: Reader,
        period: Period,
        currency_days: Annotated[
            int, Query(ge=14, le=365, description="Days an occupation stays known.")
        ] = quality.DEFAULT_CURRENCY_DAYS,
    ) -> dict[str, Any]:
        """Data-quality figures of the caller's municipality for a half-year."""
        day = today()
        half = half_year_of(period, day)
        return await quality.quality(
            scoped(request, caller), caller.tenant, half, day, currency_days
        )

    @router.get("/dead-events")
    async def dead_events(request: Request, caller: Operations) -> dict[str, Any]:
        """Events the register could not apply, and why; the projection went on without them."""
        return {
            "tenant": caller.tenant,
            "items": await queries.dead_events(scoped(request, caller), caller.tenant),
        }

    @router.get("/summary")
    async def summary(request: Request, caller: Reader) -> dict[str, Any]:
        return {
            "tenant": caller.tenant,
            **await queries.summary(scoped(request, caller), caller.tenant),
        }

    return router


def scb_routes(
    coordinator: Callable[..., Awaitable[Principal]],
    today: Callable[[], date],
    keys: TenantKeys,
) -> APIRouter:
    """The half-year report to SCB (coordinators of the municipality in the token)."""
    router = APIRouter(prefix="/v1/scb")
    Coordinator = Annotated[Principal, Depends(coordinator)]

    def half_year(name: str) -> quality.Period:
        return half_year_of(name, today())

    def reading(caller: Principal, what: str) -> access_log.Access:
        return access_log.Access(caller.tenant, caller.actor, "scb-report", what, "register")

    @router.get("/report")
    async def check(request: Request, caller: Coordinator, period: Period) -> dict[str, Any]:
        """The validation report of the file as it would be generated now (nothing recorded)."""
        half = half_year(period)
        report = await scb.build(
            scoped(request, caller), keys, caller.tenant, half, today(),
            reading(caller, f"SCB check {period}"),
        )  # fmt: skip
        return report.summary()

    @router.post("/exports", status_code=status.HTTP_201_CREATED)
    async def export(
        request: Request,
        caller: Coordinator,
        period: Period,
        force: Annotated[bool, Query(description="Export even with errors.")] = False,
    ) -> Response:
        """Generate the period's file (text/plain, UTF-8) and record it; refused (422, with the
        validation report) when the local checks find errors, unless forced."""
        half = half_year(period)
        pool = scoped(request, caller)
        report = await scb.build(
            pool, keys, caller.tenant, half, today(),
            reading(caller, f"SCB export {period}"),
        )  # fmt: skip
        if report.errors and not force:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                {"problem": f"the report has {len(report.errors)} errors; correct them or "
                 "export with force=true", **report.summary()},
            )  # fmt: skip
        recorded = await scb.record_export(pool, report, caller.actor, force)
        return Response(
            content=report.content,
            media_type="text/plain; charset=utf-8",
            status_code=status.HTTP_201_CREATED,
            headers={
                "X-Content-SHA256": report.content_hash,
                "X-Export-Id": recorded["export_id"],
                "X-Export-Sequence": str(recorded["sequence"]),
                "Content-Disposition": f'attachment; filename="kaa-scb-{caller.tenant}-{period}.txt"',
            },
        )

    @router.get("/exports")
    async def exports(request: Request, caller: Coordinator, period: Period) -> dict[str, Any]:
        """Every file generated for the period; the latest stands; whether it must be resubmitted."""
        half = half_year(period)
        return await scb.history(
            scoped(request, caller), keys, caller.tenant, half, today(),
            reading(caller, f"SCB resubmission check {period}"),
        )  # fmt: skip

    return router


class Address(BaseModel):
    street: str | None
    postal_code: str | None
    city: str | None


class IdentityView(BaseModel):
    youth_id: uuid.UUID
    state: str
    personnummer: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    address: Address | None = None
    email: str | None = None
    phone: str | None = None
    protected: bool = False


PROTECTED_GRANT = "protected-identity"


def identity_routes(
    caseworker: Callable[..., Awaitable[Principal]],
    inspector: Callable[..., Awaitable[Principal]],
    keys: TenantKeys,
) -> APIRouter:
    """Who a youth is (for contacting them), and who has looked."""
    router = APIRouter(prefix="/v1")
    Caseworker = Annotated[Principal, Depends(caseworker)]
    Inspector = Annotated[Principal, Depends(inspector)]

    @router.get("/youths/{youth_id}/identity", response_model=IdentityView)
    async def identity(
        youth_id: uuid.UUID,
        request: Request,
        caller: Caseworker,
        purpose: Annotated[
            Literal["casework", "identity"], Query(description="Why the identity is read.")
        ] = "casework",
    ) -> IdentityView:
        """Name, personnummer and address of a youth (opened from the sealed details; every
        read is in the access log). Under skyddad folkbokföring the address is never returned,
        and the record only to a caller with the `protected-identity` grant."""
        database = scoped(request, caller)
        async with database.acquire() as conn:
            found = (await identities(conn, keys, caller.tenant, [youth_id]))[youth_id]
            known = await conn.fetchval(
                "SELECT 1 FROM youths WHERE tenant = $1 AND youth_id = $2", caller.tenant, youth_id
            )
        if not known:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "youth_id: no such youth in your municipality"
            )
        if found.state == "tampered":
            await logged(request, caller, [youth_id], purpose, "identity refused: tampered")
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "personal_details: the sealed details fail authentication (tampered or not this "
                "youth's); refused, and the incident is logged",
            )
        details = found.details
        if details is not None and details.protected and PROTECTED_GRANT not in caller.grants:
            await logged(request, caller, [youth_id], purpose, "identity refused: protected")
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"youth_id: a protected identity; reading it requires the {PROTECTED_GRANT} grant",
            )
        await logged(request, caller, [youth_id], purpose, f"identity ({found.state})")
        contact = found.contact
        reach = {"email": contact.email, "phone": contact.phone} if contact else {}
        if details is None:
            return IdentityView(youth_id=youth_id, state=found.state, **reach)
        return IdentityView(
            youth_id=youth_id,
            state=found.state,
            personnummer=details.personnummer,
            given_name=details.given_name,
            family_name=details.family_name,
            address=None
            if details.protected
            else Address(street=details.street, postal_code=details.postal_code, city=details.city),
            protected=details.protected,
            **reach,
        )

    @router.get("/access-log")
    async def read_access_log(
        request: Request,
        caller: Inspector,
        youth_id: Annotated[uuid.UUID | None, Query()] = None,
        since: Annotated[Instant | None, Query(description="From this instant on.")] = None,
        until: Annotated[Instant | None, Query(description="Before this instant.")] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Who read which youth's data, when and why (inspectors of the municipality), newest
        first: one page, and how many entries match in all."""
        if since is not None and until is not None and until < since:
            raise refused("until", "is before since")
        async with scoped(request, caller).acquire() as conn:
            total, items = await access_log.entries(
                conn, caller.tenant, youth_id, since, until, limit, offset
            )
        return {
            "tenant": caller.tenant,
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": items,
        }

    return router
