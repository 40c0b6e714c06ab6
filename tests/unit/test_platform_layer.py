"""The built wheel is what production installs: the platform layer without its development tools.

The wheel is built with the project's own build backend and unpacked into a directory of its own;
`python -m kaa` run from there (with the venv's dependencies, never the checkout's `kaa`) is what an
operator gets.
"""

from __future__ import annotations

import ast
import importlib
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
    assert {"kaa/cli.py", "kaa/__main__.py", "kaa/supervisor.py", "shared/feed_adapter.py"} <= set(
        names
    )
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


# -- the kaa command's own commands ----------------------------------------------------------------


def lazy_imports() -> list[tuple[str, str, str]]:
    """Every `from X import Y` inside a function of the platform layer: (file, X, Y). A module a
    command imports only when it runs is not checked by importing the command line."""
    found: list[tuple[str, str, str]] = []
    for path in sorted((PROJECT_ROOT / "kaa").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    where = str(path.relative_to(PROJECT_ROOT))
                    found.extend((where, node.module, alias.name) for alias in node.names)
    return found


def test_every_import_a_command_makes_when_it_runs_resolves() -> None:
    """`kaa consortium` imported a register module that had moved; nothing ran it."""
    imports = lazy_imports()
    assert ("kaa/cli.py", "services.register.domain.retention", "retention_days") in imports
    broken = []
    for where, module, name in imports:
        try:
            imported = importlib.import_module(module)
        except ImportError as exc:
            broken.append(f"{where}: {module}: {exc}")
            continue
        if not hasattr(imported, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{where}: {module} has no {name}")
    assert broken == []


def test_kaa_consortium_lists_each_member_with_its_retention_and_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from kaa.cli import app

    for name in ("KAA_CONSORTIUM_FILE", "KAA_TENANT_POLICIES", "KAA_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAA_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:nothing@127.0.0.1:9/none")
    monkeypatch.setenv("KAA_TENANTS", "0180,0181")
    monkeypatch.setenv("KAA_RETENTION_DAYS", '{"0181": 365}')
    done = CliRunner().invoke(app, ["consortium"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "members (from KAA_TENANTS):"
    assert lines[1].split() == ["0180", "retention", "730", "days;", "scope", "policy", "default"]
    assert lines[2].split() == ["0181", "retention", "365", "days;", "scope", "policy", "default"]
