"""The score of `./run mutate`: per module (or function), killed / (total - equivalent).

Reads the results mutmut left in mutants/ (one `.meta` JSON file per mutated module) for the mutant
name patterns `./run` ran, and exits 1 when a target scores under 95%. A surviving mutant is either
a rule no test pins (write the test) or equivalent: the mutated code behaves exactly like the
original, so no test can tell them apart. Equivalent mutants are listed below with the reason; see
one with `.venv/bin/mutmut show NAME`. Mutant names number the mutations within a function, so the
list is checked when a function changes (a listed name that is killed or gone is reported).
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections import Counter
from pathlib import Path

TARGET = 0.95

EQUIVALENT: dict[str, str] = {
    "shared.personnummer.x_birth_date__mutmut_11": (
        "`day >= 60` for `day > 60`: day 60 is no date either way (day 60 or day 0), same error"
    ),
    "shared.personnummer.x_generate__mutmut_4": (
        "`randrange(1000)` for `randrange(0, 1000)`: the same call"
    ),
    "shared.personnummer.x_normalize__mutmut_9": (
        "`group(2)` for `group(1)`: both belong to the same alternative of the pattern, so one "
        "matched exactly when the other did"
    ),
    "shared.workdays.x_easter_sunday__mutmut_19": (
        "`(b + 9) // 25` for `(b + 8) // 25`: f changes only where g = (b - f + 1) // 3 does not "
        "(checked for every year 1583-99999)"
    ),
    "shared.workdays.x_easter_sunday__mutmut_29": (
        "`- 15` for `+ 15` inside `% 30`: they differ by 30"
    ),
    "shared.crypto.x_seal__mutmut_22": "`decode('ASCII')`: codec names ignore case",
    "shared.crypto.xǁDataKeyCacheǁput__mutmut_4": (
        "`popitem(last=None)`: None is false like False, the oldest entry goes"
    ),
    "shared.crypto.xǁTenantKeysǁ_cipher__mutmut_1": (
        "`cipher = None`: the tenant key is derived again each time; the same key, only slower"
    ),
    "shared.crypto.xǁTenantKeysǁ_cipher__mutmut_2": (
        "`self._keys.get(None)`: as above, the cache of derived keys always misses"
    ),
    "shared.crypto.xǁTenantKeysǁ_cipher__mutmut_11": (
        "HKDF without `salt=None`: None is the library's default salt"
    ),
    "services.identify.domain.scope.x_closed_periods__mutmut_7": (
        "`since <= p` for `since < p`: `since` is one of the points anyway (a set)"
    ),
    "services.register.domain.scb.report.x_build_report__mutmut_109": (
        "`f.block or 1` for `f.block or 0` in the order of findings: only a finding of the whole "
        "report has no block, and its empty youth key already sets it apart"
    ),
    "services.register.domain.scb.report.x_build_report__mutmut_134": (
        "`encode('UTF-8')`: codec names ignore case"
    ),
}

# Functions in the mutated modules that run SQL: adapters, not pure code. Their mutants are counted
# apart, not in the score; what they do is proven against PostgreSQL by the integration and
# end-to-end tests (tests/integration/test_intake_keys.py, tests/e2e/test_feed_sealing.py).
NOT_PURE: dict[str, str] = {
    "shared.crypto.x_ensure_keyring": "creates the keyring's tables",
    "shared.crypto.x_key_for": "reads or makes a youth's key in the keyring",
    "shared.crypto.x_stored_key": "reads a youth's key from the keyring",
}

# mutmut's exit codes (mutmut.stats.status_by_exit_code): a failing test kills the mutant, and so
# does a run past its time limit (the mutant loops) or a crash.
KILLED = {1, 3, -9, -11, -24, 24, 36, 152, 255}
STATUS = {0: "survived", None: "not run", 33: "no test reaches it", 5: "no test reaches it"}


def results(pattern: str) -> dict[str, int | None]:
    """Every mutant whose name matches the pattern, with mutmut's exit code (None: not run)."""
    module = pattern.split(".x", 1)[0].removesuffix(".*")
    meta = Path("mutants") / (module.replace(".", "/") + ".py.meta")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: code for name, code in codes.items() if fnmatch.fnmatchcase(name, pattern)}


def target_name(pattern: str) -> str:
    if pattern.endswith(".*"):
        return pattern[:-2]
    module, _, function = pattern.partition(".x_")
    return f"{module}.{function.removesuffix('__mutmut_*')}"


def tally(found: dict[str, int | None]) -> tuple[Counter[str], list[str]]:
    """Counts of killed, equivalent, not pure and timed-out mutants, and the names not killed."""
    counts: Counter[str] = Counter()
    surviving: list[str] = []
    for name, code in sorted(found.items()):
        if function_of(name) in NOT_PURE:
            counts["not pure"] += 1
        elif name in EQUIVALENT:
            counts["equivalent"] += 1
            if code in KILLED:
                print(f"  listed as equivalent but killed: {name}", file=sys.stderr)
        elif code in KILLED:
            counts["killed"] += 1
            counts["timeout"] += code not in (1, 3)
        else:
            surviving.append(f"{name} ({STATUS.get(code, code)})")
    return counts, surviving


def function_of(name: str) -> str:
    return name.split("__mutmut_")[0]


def line(label: str, counts: Counter[str], total: int) -> tuple[str, float]:
    scored = total - counts["equivalent"] - counts["not pure"]
    score = counts["killed"] / scored if scored else 1.0
    text = (
        f"{label:<45} {counts['killed']:>6} {counts['equivalent']:>5} "
        f"{total - counts['not pure']:>5}  {score:6.1%}"
        + (f"  ({counts['not pure']})" if counts["not pure"] else "")
    )
    return text, score


def main(patterns: list[str]) -> int:
    failed = False
    print(f"{'module':<45} {'killed':>6} {'equiv':>5} {'total':>5}  score  (SQL, not scored)")
    for pattern in patterns:
        found = results(pattern)
        counts, surviving = tally(found)
        text, score = line(target_name(pattern), counts, len(found))
        failed |= score < TARGET or not found
        print(text)
        if counts["timeout"]:
            print(
                f"    killed by running out of time (check on a quiet machine): {counts['timeout']}"
            )
        functions = sorted({function_of(name) for name in found} - set(NOT_PURE))
        for function in functions if len(functions) > 1 else []:
            mine = {n: c for n, c in found.items() if function_of(n) == function}
            plain = function.rpartition(".")[2].removeprefix("x_").removeprefix("xǁ")
            part, part_score = line(f"  {plain.replace('ǁ', '.')}", tally(mine)[0], len(mine))
            if part_score < 1.0:
                print(part)
        for name in surviving:
            print(f"    not killed: {name}")
    stale = [
        name
        for name in EQUIVALENT
        if any(fnmatch.fnmatchcase(name, p) for p in patterns)
        and not any(name in results(p) for p in patterns)
    ]
    for name in stale:
        print(f"  listed as equivalent but no longer made: {name}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
