"""Background processes the launcher owns: start detached, recognise by pid, stop, check ports.

A pid alone is not proof of ownership (pids are reused), so a process counts as ours only while its
command line still contains a marker path that is unique to this launcher's home directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kaa.dev.launcher.errors import InfraError


def cmdline(pid: int) -> str | None:
    """The process's command line joined by spaces, or None when it is gone or unreadable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or None


def is_running(pid: int) -> bool:
    """True while the process exists and has not fully exited.

    A multi-threaded process (the JVM) shows its main thread as a zombie while its other threads
    still exit and still hold its sockets, so a zombie counts as gone only once no thread is left.
    """
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return not Path("/proc").is_dir()
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") or threads > 1


def is_ours(pid: int | None, marker: str) -> bool:
    """True when `pid` runs and its command line contains `marker`."""
    if pid is None or not is_running(pid):
        return False
    line = cmdline(pid)
    return line is not None and marker in line


def _reap(pid: int) -> None:
    # A process started by this very Python process stays a zombie until waited for.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def start_detached(
    argv: Sequence[str],
    *,
    log_file: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
) -> int:
    """Start `argv` in its own session with output appended to `log_file`; return its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=_primary_group(user) if user else None,
            extra_groups=[] if user else None,
        )
    return proc.pid


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def stop(pid: int, *, first_signal: signal.Signals, timeout: float) -> bool:
    """Ask the process to stop with `first_signal`, kill it after `timeout` seconds.

    Returns True when it had to be killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, first_signal)
    if wait_gone(pid, timeout):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not wait_gone(pid, 10.0):
        raise InfraError(f"process {pid} did not exit even after SIGKILL; stop it by hand")
    return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.1)
    return not is_running(pid)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (checked by binding it, as the server would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR, so connections in TIME_WAIT from a previous run do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def require_free_port(host: str, port: int, what: str, variable: str) -> None:
    if not port_is_free(host, port):
        raise InfraError(
            f"{what} cannot start: port {host}:{port} is already taken by another process; "
            f"stop that process or choose another port with {variable}=<port>"
        )


def log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log, for an error message that points at the cause."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail)
