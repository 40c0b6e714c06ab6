"""`./run demo`'s end: in a terminal (a pseudo-terminal here) the platform and the web application
stay up, with the address and how to sign in printed, until Ctrl-C; without one (CI) the demo
stops its services as before."""

from __future__ import annotations

import os
import pty
import socket
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kaa.dev import cli as dev_cli
from kaa.dev import demo, demo_web
from kaa.dev.demo_web import in_a_terminal, serve


def test_a_pseudo_terminal_is_a_terminal_and_a_pipe_is_not() -> None:
    leader, follower = pty.openpty()
    try:
        with open(follower, closefd=False) as stdin, open(follower, "w", closefd=False) as out:
            assert in_a_terminal(stdin, out)
            assert not in_a_terminal(stdin, StringIO())
    finally:
        os.close(leader)
        os.close(follower)
    assert not in_a_terminal(StringIO(), StringIO())


@dataclass
class Web:
    url: str
    log_file: Path = Path("web.log")


@dataclass
class FakePlatform:
    webs: list[tuple[int, bool]] = field(default_factory=list)

    def start_web(self, port: int, *, dev_signin: bool) -> Web:
        self.webs.append((port, dev_signin))
        return Web(f"http://127.0.0.1:{port}")

    def supervise(self, supervision: Any, now: float) -> list[str]:
        return []


@dataclass
class FakeDeployment:
    platform: Any = field(default_factory=FakePlatform)
    stops: int = 0

    def stop(self) -> dict[str, int | None]:
        self.stops += 1
        return {"web": 0}


def test_serve_says_where_and_how_to_sign_in_and_stops_everything_at_the_end() -> None:
    running, said = FakeDeployment(), list[str]()
    with socket.socket() as taken:  # a port in use: the web application takes another
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        codes = serve(running, said.append, "0180", stopped=lambda: True, port=port)
    [(used, dev_signin)] = running.platform.webs
    assert dev_signin
    assert used != port
    assert f"port {port} is in use" in said[0]
    assert f"runs at http://127.0.0.1:{used}" in said[1]
    assert "choose kommun 0180" in said[2]
    assert "Ctrl-C" in said[3]
    assert codes == {"web": 0}
    assert running.stops == 1


def run_demo_cli(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> tuple[str, dict[str, Any]]:
    """`kaa demo` with the infrastructure and the demo itself replaced: what it printed, and
    what the demo and the end were asked."""
    seen: dict[str, Any] = {}
    running = FakeDeployment()

    class Infrastructure:
        def __init__(self, settings: object) -> None: ...
        def up(self) -> None: ...
        def bootstrap_servers(self) -> str:
            return "127.0.0.1:1"

        def database_url(self) -> str:
            return "postgresql://nowhere/kaa"

    def run_demo(*args: object, keep_running: bool = False, **kwargs: object) -> demo.DemoResult:
        seen["keep_running"] = keep_running
        return demo.DemoResult(["summary"], running=running if keep_running else None)  # type: ignore[arg-type]

    def served(deployment: object, say: object, tenant: str) -> dict[str, int | None]:
        seen["served"] = deployment
        return {"identify": 0}

    monkeypatch.setattr(dev_cli, "Infrastructure", Infrastructure)
    monkeypatch.setattr(dev_cli, "_print", lambda status, settings: None)
    monkeypatch.setattr(demo, "run_demo", run_demo)
    monkeypatch.setattr(demo_web, "serve", served)
    monkeypatch.setattr(demo_web, "in_a_terminal", lambda stdin, stdout: terminal)
    app = typer.Typer()
    app.command("demo")(dev_cli.demo)
    app.command("other")(lambda: None)  # two commands: `demo` stays a subcommand
    done = CliRunner().invoke(app, ["demo", "--youths", "10"])
    assert done.exit_code == 0, done.output
    return done.output, seen


def test_without_a_terminal_the_demo_stops_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    output, seen = run_demo_cli(monkeypatch, terminal=False)
    assert seen == {"keep_running": False}
    assert "summary" in output
    assert "Services stopped" not in output  # the demo's own summary says it


def test_in_a_terminal_the_demo_leaves_everything_running_until_ctrl_c(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    output, seen = run_demo_cli(monkeypatch, terminal=True)
    assert seen["keep_running"] is True
    assert seen["served"] is not None
    assert output.rstrip().endswith("Services stopped: identify (clean)")
