"""The end of `./run demo` in a terminal: the demo's platform stays up with the web application in
front of it (development sign-in on), at http://127.0.0.1:8100, until Ctrl-C.

Without a terminal (CI, a pipe) the demo stops its services as before: nobody would be there to
press Ctrl-C.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from kaa.deployment import free_port
from kaa.supervisor import WEB_PORT, Platform, Supervision


def in_a_terminal(stdin: TextIO, stdout: TextIO) -> bool:
    """Someone is there to use the web application and press Ctrl-C."""
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Running(Protocol):
    platform: Platform | None

    def stop(self) -> dict[str, int | None]: ...


def serve(
    deployment: Running,
    say: Callable[[str], None],
    tenant: str,
    stopped: Callable[[], bool] | None = None,
    port: int = WEB_PORT,
) -> dict[str, int | None]:
    """Start the web application in front of the running demo, say where and how to sign in, keep
    everything running (a process that stops is started again, as `kaa up` does) until Ctrl-C or
    SIGTERM (or `stopped()`), then stop it all; the exit codes."""
    assert deployment.platform is not None
    platform = deployment.platform
    if not port_free(port):
        taken, port = port, free_port()
        say(f"port {taken} is in use (another kaa up?); the web application takes {port}")
    asked = False

    def request_stop(*_: object) -> None:
        nonlocal asked
        asked = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        try:
            web = platform.start_web(port, dev_signin=True)
        except RuntimeError as exc:
            say(f"the web application did not start: {exc}")
            return deployment.stop()
        say(f"The web application runs at {web.url} (log {web.log_file})")
        say(f"Sign in: choose kommun {tenant}, a role (Handläggare for Min dag) and any user name")
        say("Everything keeps running with the demo municipality; Ctrl-C stops it")
        supervision: dict[str, Supervision] = {}
        while not asked and not (stopped is not None and stopped()):
            for line in platform.supervise(supervision, time.monotonic()):
                say(line)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    return deployment.stop()
