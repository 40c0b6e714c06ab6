"""Where a kaa process finds its state on a developer machine: `KAA_HOME` (`infra.env`, `secrets.env`).

Every service reads `infra.env` and the development secrets from here; the development launcher
(`kaa.dev.launcher`) writes them.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def kaa_home() -> Path:
    """`KAA_HOME`, or `<repo>/.kaa`: the launcher's state, `infra.env` and the development secrets
    (`secrets.env`). The launcher and every service read the same directory, by its real path: a
    checkout whose `.kaa` links to another's finds the servers that one started as its own."""
    given = os.environ.get("KAA_HOME", "").strip()
    return (Path(given).expanduser() if given else PROJECT_ROOT / ".kaa").resolve()
