"""A measures event store in memory, for the unit tests of the use cases: the cases and the
catalogue the commands see, what they recorded, and the youths' data keys. It answers as the real
one does (`services.measures.adapters.store`): another municipality's youth is not found, a youth
out of scope is refused, a refusal records nothing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import asyncpg

from services.measures.adapters.store import RULE_BOOK, MeasuresApplication
from services.measures.domain import MeasuresCase
from services.measures.domain.catalogue import offerable
from shared.casework.commands import CaseRuntime
from shared.casework.domain import REFUSALS, CaseNotFound
from shared.codelists import code_list
from shared.crypto import SealedDataError, YouthSealer, new_data_key

R = TypeVar("R")


class StatementsNoted:
    """A read pool in memory: the statements run on it, with their arguments (the access log's
    entries among them)."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[StatementsNoted]:
        yield self

    async def execute(self, query: str, *args: Any) -> None:
        self.executed.append((query, args))

    def access_logged(self) -> list[tuple[Any, ...]]:
        """The access log's entries written: (tenant, actor, youth ids, purpose, what, service)."""
        return [args for query, args in self.executed if "access_log" in query]


class InMemoryMeasures:
    def __init__(self, *cases: MeasuresCase, reoffer_after_days: int | None = None) -> None:
        self.cases = {case.id: case for case in cases}
        self.recorded: list[Any] = []
        self.keys: dict[uuid.UUID, bytes | None] = {}
        self.key_refused = False
        self.rules_given = {name: rule.default for name, rule in RULE_BOOK.items()}
        if reoffer_after_days is not None:
            self.rules_given["reoffer_after_days"] = reoffer_after_days

        self.pool = StatementsNoted()

    def as_application(self) -> MeasuresApplication:
        """Typed as what the commands take (they use only what this answers)."""
        return cast(MeasuresApplication, self)

    def runtime(self) -> CaseRuntime[MeasuresApplication]:
        """What the commands run on: this store and its read pool, started."""
        runtime = CaseRuntime[MeasuresApplication]()
        runtime.start(self.as_application(), cast(asyncpg.Pool, self.pool), "measures")
        return runtime

    def catalogue(self, tenant: str) -> dict[str, dict[str, Any]]:
        return offerable(code_list("measure-type").codes, None, None)

    def cached_rules(self, tenant: str) -> dict[str, int] | None:
        return dict(self.rules_given)

    def data_key(self, youth_id: uuid.UUID) -> bytes:
        key = self.keys.get(youth_id)
        if key is None:
            key = self.keys[youth_id] = new_data_key()
        return key

    def sealer(self, tenant: str, youth_id: uuid.UUID) -> YouthSealer:
        return YouthSealer(self.data_key(youth_id), tenant, youth_id)

    def stored_data_key(self, tenant: str, youth_id: uuid.UUID) -> bytes | None:
        if self.key_refused:
            raise SealedDataError("data key: fails authentication")
        return self.keys.get(youth_id)

    def case_of(self, youth_id: uuid.UUID, tenant: str) -> MeasuresCase:
        case = self.cases.get(youth_id)
        if case is None:
            raise CaseNotFound
        case.check_tenant(tenant)
        return case

    def submit(
        self, youth_id: uuid.UUID, tenant: str, action: Callable[[Any], R], *,
        in_scope_only: bool = True,
    ) -> asyncio.Future[R]:  # fmt: skip
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        try:
            case = self.case_of(youth_id, tenant)
            if in_scope_only:
                case.check_in_scope()
            answer.set_result(action(case))
            self.recorded.extend(case.collect_events())
        except REFUSALS as refusal:
            answer.set_exception(refusal)
        return answer
