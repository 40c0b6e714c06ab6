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
}

# mutmut's exit codes (mutmut.stats.status_by_exit_code): a failing test kills the mutant, and so
# does a run past its time limit (the mutant loops) or a crash.
KILLED = {1, 3, -9, -11, -24, 24, 36, 152, 255}
SURVIVED = {0}


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


def main(patterns: list[str]) -> int:
    failed = False
    print(f"{'module':<45} {'killed':>6} {'equiv':>5} {'total':>5}  score")
    for pattern in patterns:
        found = results(pattern)
        counts: Counter[str] = Counter()
        surviving: list[str] = []
        for name, code in sorted(found.items()):
            if name in EQUIVALENT:
                counts["equivalent"] += 1
                if code in KILLED:
                    print(f"  listed as equivalent but killed: {name}", file=sys.stderr)
            elif code in KILLED:
                counts["killed"] += 1
            else:
                surviving.append(f"{name} ({'survived' if code in SURVIVED else code})")
        scored = len(found) - counts["equivalent"]
        score = counts["killed"] / scored if scored else 1.0
        failed |= score < TARGET or not found
        print(
            f"{target_name(pattern):<45} {counts['killed']:>6} {counts['equivalent']:>5} "
            f"{len(found):>5}  {score:6.1%}"
        )
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
