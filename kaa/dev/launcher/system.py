"""System tools the launcher needs (Java 17+, Maven, PostgreSQL), installed from Debian when missing.

Installation happens only when we are root on a Debian-like system and `KAA_INSTALL_MISSING` is not
turned off; otherwise the error names the package to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.settings import InfraSettings

MIN_JAVA = 17
DEBIAN_POSTGRES_ROOT = Path("/usr/lib/postgresql")

_apt_updated = False


def _can_install(settings: InfraSettings) -> bool:
    return settings.install_missing and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(settings: InfraSettings, packages: list[str], what: str) -> None:
    global _apt_updated
    log = settings.logs_dir / "apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log.open("ab") as out:
        if not _apt_updated:
            subprocess.run(["apt-get", "update"], stdout=out, stderr=subprocess.STDOUT, env=env)
            _apt_updated = True
        result = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", *packages],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    if result.returncode != 0:
        raise InfraError(f"installing {what} ({' '.join(packages)}) with apt-get failed; see {log}")


def java_executable() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home) / "bin" / "java"
    found = shutil.which("java")
    return Path(found) if found else None


def java_major(java: Path) -> int | None:
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8"
    return int(match.group(2) or 0) if major == 1 else major


def ensure_java(settings: InfraSettings) -> Path:
    java = java_executable()
    if java is None or (java_major(java) or 0) < MIN_JAVA:
        if _can_install(settings):
            _apt_install(settings, ["openjdk-17-jre-headless"], "Java 17")
            java = java_executable()
        if java is None:
            raise InfraError(
                f"Java {MIN_JAVA}+ is needed to run Kafka and was not found; install it "
                "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
            )
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        raise InfraError(
            f"Kafka 4 needs Java {MIN_JAVA}+, but {java} is Java {major}; "
            "install a newer JDK or point JAVA_HOME at one"
        )
    return java


def ensure_maven(settings: InfraSettings) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None and _can_install(settings):
        _apt_install(settings, ["maven"], "Maven")
        mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError(
            "Maven is needed once to fetch the Kafka jars and was not found; "
            "install it (Debian: apt-get install maven)"
        )
    return Path(mvn)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def find_postgres_bindir(settings: InfraSettings) -> Path | None:
    candidates: list[Path] = []
    if settings.postgres_bindir is not None:
        candidates.append(settings.postgres_bindir)
    # Debian keeps server binaries off PATH, one directory per major version: take the newest.
    candidates.extend(sorted(DEBIAN_POSTGRES_ROOT.glob("*/bin"), key=_version_key, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def ensure_postgres(settings: InfraSettings) -> Path:
    bindir = find_postgres_bindir(settings)
    if bindir is None and _can_install(settings):
        _apt_install(settings, ["postgresql"], "PostgreSQL")
        bindir = find_postgres_bindir(settings)
    if bindir is None:
        raise InfraError(
            "the PostgreSQL server (initdb, postgres) was not found; install it "
            "(Debian: apt-get install postgresql) or set KAA_POSTGRES_BINDIR to its bin directory"
        )
    return bindir
