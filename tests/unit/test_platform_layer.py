"""The built wheel is what production installs: the platform layer without its development tools.

The wheel is built with the project's own build backend and unpacked into a directory of its own;
`python -m kaa` run from there (with the venv's dependencies, never the checkout's `kaa`) is what an
operator gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = list(WheelBuilder(str(PROJECT_ROOT)).build(directory=str(out), versions=["standard"]))
    assert len(built) == 1
    return Path(built[0])


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def kaa(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m kaa ARGS` with the wheel's packages first on the path, from outside the checkout."""
    env = {**os.environ, "PYTHONPATH": str(site), "KAA_HOME": str(site / ".kaa")}
    return subprocess.run(
        [sys.executable, "-m", "kaa", *args],
        env=env, cwd=site, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_wheel_ships_the_platform_layer_without_development_tools(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert {"kaa/cli.py", "kaa/__main__.py", "kaa/supervisor.py", "kaa/feeds.py"} <= set(names)
    assert {"shared/runtime.py", "services/register/bootstrap.py"} <= set(names)
    assert [n for n in names if n.startswith("kaa/dev/")] == []
    assert [n for n in names if "launcher" in n or "synthetic" in n] == []
    assert "kaa = kaa.cli:main" in scripts


def test_the_installed_command_runs_from_the_wheel(installed: Path) -> None:
    located = subprocess.run(
        [sys.executable, "-c", "import kaa.cli; print(kaa.cli.__file__)"],
        env={**os.environ, "PYTHONPATH": str(installed)}, cwd=installed,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert located.stdout.strip() == str(installed / "kaa" / "cli.py")
    shown = kaa(installed, "--help")
    assert shown.returncode == 0, shown.stderr
    for command in ("run", "token", "feed", "register", "scb", "scope"):
        assert command in shown.stdout
    for development in ("infra", "demo"):
        assert f" {development} " not in shown.stdout


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("infra", "status"), "infra"),
        (("infra", "up"), "infra"),
        (("up",), "up"),
        (("demo", "--youths", "10"), "demo"),
        (("feed", "generate", "--youths", "5", "--out", "x"), "feed generate"),
    ],
)
def test_a_development_command_says_it_is_not_installed(
    installed: Path, args: tuple[str, ...], command: str
) -> None:
    done = kaa(installed, *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"kaa: error: `kaa {command}` is a development tool (kaa.dev), not part of this "
        "installation; run it from a checkout (pip install -e '.[dev]')"
    ]
    assert not (installed / ".kaa").exists()  # nothing was started or written
