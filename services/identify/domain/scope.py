"""The scope engine: is the municipality's activity responsibility in force for a youth on a date?

Skollagen (2010:800) 29 kap. 9 § and DOMAIN.md section 1. All five conditions must hold:

1. folkbokförd in the municipality (the hemkommun);
2. has not turned 20;
3. has completed compulsory school (fullgjort skolplikten) — or, from 2018-07-01, became
   folkbokförd in Sweden at an age without skolplikt;
4. not enrolled in gymnasieskola (GY) or anpassad gymnasieskola (GYS) or equivalent — from
   2018-07-01 an introduktionsprogram (IM) counts as enrolled, before that it did not;
5. no gymnasieexamen, no bevis from anpassad gymnasieskola, no completed equivalent education
   (a studiebevis alone does not end scope).

Rules change over time, so each rule version carries the date it took effect, and a decision about
an instant uses the version in force then. Every decision names that version and the facts it used,
so an inspector can see why. Pure: no I/O, no clock — the caller says which day it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from shared.contracts.events import LeavingReason
from shared.contracts.feeds import CompletionKind
from shared.personnummer import age_on

UPPER_SECONDARY = frozenset({"GY", "GYS"})
# Komvux and folkhögskola: studies that count as "equivalent education" only by tenant policy.
ADULT_EDUCATION = frozenset(
    {
        "VUX",
        "VUXGR",
        "VUXGY",
        "VUXSARGR",
        "VUXSARTR",
        "VUXSARGY",
        "SARVUX",
        "SARVUXGR",
        "SARVUXGY",
        "FHS",
    }
)
# Still in compulsory school (grundskola, anpassad grundskola, specialskola, sameskola).
COMPULSORY = frozenset({"GR", "GRS", "SP", "SAM"})
# Education codes of the introduktionsprogram (current and pre-2019 names).
INTRODUCTION_PROGRAMME_CODES = frozenset(
    {"IMPRO", "IMYRK", "IMIND", "IMSPR", "IMPRE", "IMA", "IMV", "IMS", "IMY", "IMI", "IMVYRK"}
)

ENDS_SCOPE: frozenset[str] = frozenset({"gymnasieexamen", "gys_bevis", "equivalent"})
ResidenceStatus = Literal["resident", "emigrated", "deceased"]


def is_introduction_programme(education_code: str | None) -> bool:
    return education_code is not None and education_code.upper() in INTRODUCTION_PROGRAMME_CODES


@dataclass(frozen=True)
class TenantPolicy:
    """A municipality's settings where the law is open (DOMAIN.md: [open]).

    Defaults: compulsory school ends 30 June of the calendar year the youth turns 16; komvux or
    folkhögskola studies without a degree keep the youth in scope (occupation: studies).
    """

    compulsory_school_ends_month: int = 6
    compulsory_school_ends_day: int = 30
    adult_education_keeps_in_scope: bool = True
    time_zone: str = "Europe/Stockholm"
    # Not scope law but the municipality's feeds: the sources whose watermarks a person waits for
    # before they are decided (services/identify/adapters/pending.py; KAA_FEED_SOURCES by default).
    feed_sources: tuple[str, ...] = ()
    # The day the municipality started using kaa (None: the day identify first ran for it).
    go_live: date | None = None

    def compulsory_school_ends(self, birth_date: date) -> date:
        return date(
            birth_date.year + 16, self.compulsory_school_ends_month, self.compulsory_school_ends_day
        )


DEFAULT_POLICY = TenantPolicy()


@dataclass(frozen=True)
class Residence:
    """Folkbokföring from `since` (a population record's effective date)."""

    since: date
    kommunkod: str | None
    status: ResidenceStatus = "resident"


@dataclass(frozen=True)
class Enrolment:
    """An SS 12000 enrolment. Without dates, it counts from the day it was observed."""

    school_type: str
    cancelled: bool = False
    start_date: date | None = None
    end_date: date | None = None
    observed_on: date | None = None
    education_code: str | None = None

    @property
    def introduction_programme(self) -> bool:
        return is_introduction_programme(self.education_code)

    def current_on(self, on: date) -> bool:
        if self.cancelled:
            return False
        start = self.start_date or self.observed_on
        if start is not None and start > on:
            return False
        return self.end_date is None or self.end_date >= on


@dataclass(frozen=True, slots=True)
class Completion:
    kind: CompletionKind
    completed_on: date


@dataclass(frozen=True)
class YouthFacts:
    """Everything the engine may use about one person; histories, not just the latest state."""

    birth_date: date
    residences: tuple[Residence, ...] = ()
    enrolments: tuple[Enrolment, ...] = ()
    completions: tuple[Completion, ...] = ()
    registered_in_sweden_on: date | None = None  # None: folkbokförd in Sweden since birth

    def residence_on(self, on: date) -> Residence | None:
        # The latest `since` by `on`; of two on the same day the later listed (as a stable sort
        # by `since` would give), without sorting on every call.
        current = None
        for residence in self.residences:
            if residence.since <= on and (current is None or residence.since >= current.since):
                current = residence
        return current


@dataclass(frozen=True)
class RuleVersion:
    name: str
    effective_from: date
    introduction_programme_excluded: bool
    late_arrivals_included: bool


RULES: tuple[RuleVersion, ...] = (
    RuleVersion("kaa-2015-01-01", date(2015, 1, 1), False, False),
    RuleVersion("kaa-2018-07-01", date(2018, 7, 1), True, True),
)


_RULES_IN_ORDER = tuple(sorted(RULES, key=lambda r: r.effective_from))


def rule_in_force(on: date, rules: tuple[RuleVersion, ...] = RULES) -> RuleVersion | None:
    current = None
    in_order = _RULES_IN_ORDER if rules is RULES else sorted(rules, key=lambda r: r.effective_from)
    for rule in in_order:
        if rule.effective_from <= on:
            current = rule
    return current


@dataclass(frozen=True)
class Decision:
    in_scope: bool
    leaving_reason: LeavingReason | None
    rule_version: str
    facts: dict[str, str] = field(default_factory=dict)


def twentieth_birthday(birth_date: date) -> date:
    """The day the youth turns 20. Born on 29 February: 28 February in a common year, as lagen
    (1930:173) om beräkning av lagstadgad tid counts a period that ends on a day a month lacks."""
    try:
        return birth_date.replace(year=birth_date.year + 20)
    except ValueError:
        return date(birth_date.year + 20, 2, 28)


def school_background(facts: YouthFacts, on: date) -> str | None:
    """The latest school-related occupation before `on` (SCB block 1): the school type of the
    enrolment that ended most recently (`IM` for an introduction programme), None if none did.
    A cancelled enrolment never happened; one that starts (or, undated, was first seen) after
    `on` is not background to it."""
    ended = [
        e
        for e in facts.enrolments
        if not e.cancelled and not e.current_on(on) and (e.start_date or e.observed_on or on) <= on
    ]
    if not ended:
        return None
    latest = max(ended, key=lambda e: e.end_date or date.min)  # ended: end_date is before `on`
    return "IM" if latest.introduction_programme else latest.school_type


def decide(
    facts: YouthFacts,
    tenant: str,
    on: date,
    policy: TenantPolicy = DEFAULT_POLICY,
    rules: tuple[RuleVersion, ...] = RULES,
) -> Decision:
    rule = rule_in_force(on, rules)
    used: dict[str, str] = {"tenant": tenant, "on": on.isoformat()}
    if rule is None:
        return Decision(
            False, None, "none", used | {"rule": "no activity responsibility before 2015-01-01"}
        )

    def out(reason: LeavingReason | None, **extra: str) -> Decision:
        return Decision(False, reason, rule.name, used | extra)

    # 1. Folkbokförd in the municipality.
    residence = facts.residence_on(on)
    if residence is None:
        return out(None, folkbokford="unknown")
    if residence.status == "deceased":
        return out("deceased", status="deceased")
    if residence.status == "emigrated":
        return out("emigrated", status="emigrated")
    if residence.kommunkod != tenant:
        return out("moved_out", folkbokford_in_tenant="no")
    used["folkbokford_in_tenant"] = "yes"

    # 2. Under 20.
    age = age_on(facts.birth_date, on)
    used["age"] = str(age)
    if on >= twentieth_birthday(facts.birth_date):
        return out("turned_20")

    # 3. Compulsory school completed, or (from 2018-07-01) arrived past compulsory-school age.
    compulsory_end = policy.compulsory_school_ends(facts.birth_date)
    late_arrival = (
        facts.registered_in_sweden_on is not None and facts.registered_in_sweden_on > compulsory_end
    )
    in_compulsory = sorted(
        {
            e.school_type
            for e in facts.enrolments
            if e.current_on(on) and e.school_type in COMPULSORY
        }
    )
    if late_arrival:
        used["arrived_past_compulsory_school_age"] = "yes"
        if not rule.late_arrivals_included:
            return out(None, compulsory_school="not completed in Sweden")
    else:
        used["compulsory_school_ends"] = compulsory_end.isoformat()
        if on <= compulsory_end:
            return out(None, compulsory_school="not yet completed")
        if in_compulsory:
            return out(None, compulsory_school=f"still enrolled in {','.join(in_compulsory)}")

    # 5. Completed upper-secondary or equivalent (a studiebevis does not count).
    completed = sorted(
        {c.kind for c in facts.completions if c.kind in ENDS_SCOPE and c.completed_on <= on}
    )
    if completed:
        return out("completed", completed=",".join(completed))
    if any(c.kind == "studiebevis" and c.completed_on <= on for c in facts.completions):
        used["studiebevis"] = "yes (does not end scope)"

    # 4. Not enrolled in upper-secondary or equivalent education.
    current = [e for e in facts.enrolments if e.current_on(on)]
    for enrolment in current:
        if enrolment.school_type in UPPER_SECONDARY:
            if enrolment.introduction_programme and not rule.introduction_programme_excluded:
                used["introduction_programme"] = "yes (in scope before 2018-07-01)"
                continue
            programme = " (introduktionsprogram)" if enrolment.introduction_programme else ""
            return out("enrolled", enrolled_in=enrolment.school_type + programme)
        if enrolment.school_type in ADULT_EDUCATION:
            if policy.adult_education_keeps_in_scope:
                used["studies"] = f"{enrolment.school_type} (in scope by tenant policy)"
                continue
            return out(
                "enrolled", enrolled_in=f"{enrolment.school_type} (equivalent by tenant policy)"
            )
    used.setdefault("enrolled_in", "none")
    return Decision(True, None, rule.name, used)


def change_points(facts: YouthFacts, policy: TenantPolicy = DEFAULT_POLICY) -> list[date]:
    """Every date on which a decision can change by the passing of time alone."""
    return sorted(_change_points(facts, policy))


_RULE_DAYS = frozenset(rule.effective_from for rule in RULES)


def _change_points(facts: YouthFacts, policy: TenantPolicy) -> set[date]:
    points = set(_RULE_DAYS)
    points.add(policy.compulsory_school_ends(facts.birth_date) + timedelta(days=1))
    points.add(twentieth_birthday(facts.birth_date))
    points.update(r.since for r in facts.residences)
    points.update(c.completed_on for c in facts.completions)
    for e in facts.enrolments:
        for day in (e.start_date, e.observed_on):
            if day is not None:
                points.add(day)
        if e.end_date is not None:
            points.add(e.end_date + timedelta(days=1))
    if facts.registered_in_sweden_on is not None:
        points.add(facts.registered_in_sweden_on)
    return points


def next_change(
    facts: YouthFacts, after: date, policy: TenantPolicy = DEFAULT_POLICY
) -> date | None:
    """The first date after `after` on which the decision may change without any new input."""
    return min((p for p in _change_points(facts, policy) if p > after), default=None)


def status_since(
    facts: YouthFacts,
    tenant: str,
    on: date,
    policy: TenantPolicy = DEFAULT_POLICY,
    current: bool | None = None,
) -> date:
    """The first day of the unbroken period, ending `on`, with the same in/out decision
    (`current`: whether that decision is in scope, when the caller has just taken it).

    A transition found late (a record delivered after its effective date, a scheduler that was
    down) is then dated when it happened, not when it was noticed.
    """
    if current is None:
        current = decide(facts, tenant, on, policy).in_scope
    since = on
    for point in reversed([p for p in change_points(facts, policy) if p <= on]):
        if decide(facts, tenant, point - timedelta(days=1), policy).in_scope != current:
            return point
        since = point
    return since


def closed_periods(
    facts: YouthFacts,
    tenant: str,
    since: date,
    on: date,
    policy: TenantPolicy = DEFAULT_POLICY,
) -> list[tuple[date, date, LeavingReason]]:
    """The periods in scope that ended after `since` and by `on`, as the facts tell them:
    (first day in scope, first day out, why). A period still open on `on` is not one of them;
    one open on `since` starts on its real date."""
    points = sorted({since, *(p for p in change_points(facts, policy) if since < p <= on)})
    out: list[tuple[date, date, LeavingReason]] = []
    start: date | None = None
    for point in points:
        decision = decide(facts, tenant, point, policy)
        if decision.in_scope and start is None:
            start = status_since(facts, tenant, point, policy, True)
        elif not decision.in_scope and start is not None:
            out.append((start, point, decision.leaving_reason or "registered_in_error"))
            start = None
    return out
