"""The container image's recipe (deploy/Containerfile) and its lock file, checked offline (no
container engine here, so the image itself is not built in the test suite): two stages, the
dependencies installed from the hash-pinned lock, non-root, a health check on /health/live, the
port the manifests use; the lock pins every dependency pyproject.toml names, within its range.
Also: the vendored schemas are the files their README lists.
"""

from __future__ import annotations

import hashlib
import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.unit.deploy.manifests import DEPLOY, ROOT, VENDOR, instructions


def image_problems(text: str) -> list[str]:
    """What breaks kaa's rules for its image (empty: none)."""
    steps = instructions(text)
    stages = [args for key, args in steps if key == "FROM"]
    problems = []
    if stages != ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]:
        problems.append(f"stages: {stages}")
    froms = [i for i, (key, _) in enumerate(steps) if key == "FROM"]
    runtime = steps[froms[-1] :] if froms else []
    users = [args for key, args in runtime if key == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", users[-1]):
        problems.append("runtime: not a numeric non-root USER")
    if not any(k == "HEALTHCHECK" and "/health/live" in a for k, a in runtime):
        problems.append("runtime: no HEALTHCHECK on /health/live")
    if ("EXPOSE", "8080") not in runtime:
        problems.append("runtime: does not EXPOSE 8080")
    copies = [a for k, a in runtime if k == "COPY"]
    if copies != ["--from=build /opt/kaa /opt/kaa"]:
        problems.append(f"runtime: copies {copies}, not only the venv")
    build = " ".join(a for k, a in steps if k == "RUN")
    if "--require-hashes --no-deps -r deploy/requirements.lock" not in build:
        problems.append("build: dependencies not installed from the hash-pinned lock")
    if ("ENTRYPOINT", '["kaa"]') not in runtime:
        problems.append("runtime: ENTRYPOINT is not kaa")
    return problems


def test_the_image_recipe_follows_the_rules() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert image_problems(text) == []
    assert re.search(
        r"^ARG PYTHON_IMAGE=docker\.io/library/python:3\.11-slim-bookworm$", text, re.M
    )
    assert "KAA_HTTP_HOST=0.0.0.0" in text
    assert "KAA_HTTP_PORT=8080" in text


def test_a_recipe_breaking_the_rules_is_refused() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert image_problems(text.replace("USER 10001:10001", "USER root")) == [
        "runtime: not a numeric non-root USER"
    ]
    assert image_problems(text.replace("/health/live", "/health")) == [
        "runtime: no HEALTHCHECK on /health/live"
    ]
    assert image_problems(text.replace("--require-hashes ", "")) == [
        "build: dependencies not installed from the hash-pinned lock"
    ]
    assert image_problems(text + "\nCOPY shared /src/shared\n") == [
        "runtime: copies ['--from=build /opt/kaa /opt/kaa', 'shared /src/shared'], not only the venv"
    ]


def _locked(path: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a pip-compile lock file."""
    text = (DEPLOY / path).read_text()
    pins: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s;\\]+)", block)
        if match:
            pins[str(canonicalize_name(match[1]))] = (str(match[2]), block.count("--hash=sha256:"))
    return pins


def test_the_lock_pins_every_dependency_within_its_range_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked("requirements.lock")
    assert len(locked) > 40
    for line in project["dependencies"]:
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{wanted.name} is not in deploy/requirements.lock: regenerate it"
        assert wanted.specifier.contains(locked[name][0], prereleases=True), (name, locked[name][0])
    assert all(hashes > 0 for _, hashes in locked.values())
    assert "pip-compile with Python 3.11" in (DEPLOY / "requirements.lock").read_text()
    build = _locked("build-requirements.lock")
    assert "hatchling" in build
    assert all(hashes > 0 for _, hashes in build.values())


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") :][:1] == ["**"]
    for needed in (
        "pyproject.toml",
        "README.md",
        "kaa/",
        "shared/",
        "services/",
        "deploy/requirements.lock",
    ):
        assert f"!{needed}" in ignore, needed
    assert "services/web/assets/node_modules" in ignore


def test_vendored_files_are_the_ones_listed() -> None:
    listed = re.findall(
        r"^\| ([\w./-]+) \|.*\| ([0-9a-f]{64}) \|$", (VENDOR / "README.md").read_text(), re.M
    )
    assert len(listed) == 9
    for name, digest in listed:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    for folder in {name.split("/")[0] for name, _ in listed}:
        assert "Apache License" in (VENDOR / folder / "LICENSE").read_text()[:200], folder


def test_the_image_version_is_the_projects_everywhere() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"ARG KAA_VERSION={version}" in (DEPLOY / "Containerfile").read_text()
    assert f"${{KAA_IMAGE:-kaa:{version}}}" in (DEPLOY / "compose.yaml").read_text()
    base = (DEPLOY / "kubernetes" / "base" / "kustomization.yaml").read_text()
    assert f"newTag: {version}" in base
