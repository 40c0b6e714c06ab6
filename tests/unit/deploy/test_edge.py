"""Operations' paths (`/metrics`, `/health*`) never reach a kaa process from the public address.

Every process answers them on the port of its pages (Prometheus and the probes call the pods
directly), so the edge must close them: the Ingress sends them to a Service that selects no pod
(chosen by the Ingress specification's rule, longest matching path first, evaluated here on the
rendered overlays); Caddy answers them 404 itself (run here, the pinned caddy `deploy/check
install` built, in front of a stand-in web process).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.unit.deploy.manifests import DEPLOY, SIZES, kinds, named, render

OPERATIONS = ("/metrics", "/metrics/", "/health", "/health/ready", "/health/live")
PUBLIC = ("/", "/min-dag", "/ungdomar/abc/kontakter", "/static/app.css", "/healthz")
CALLBACK = "/v1/ss12000/callbacks/abc"


def ingress_backend(ingress: dict[str, Any], path: str) -> str:
    """The Service the Ingress sends `path` to: the longest matching path wins, Exact before
    Prefix at equal length; Prefix matches whole path elements (the Ingress specification)."""

    def matches(rule: dict[str, Any]) -> bool:
        want = str(rule["path"])
        if rule["pathType"] == "Exact":
            return path == want
        prefix = [p for p in want.split("/") if p]
        return [p for p in path.split("/") if p][: len(prefix)] == prefix

    paths = [p for r in ingress["spec"]["rules"] for p in r["http"]["paths"] if matches(p)]
    best = max(paths, key=lambda p: (len(p["path"].rstrip("/")), p["pathType"] == "Exact"))
    return str(best["backend"]["service"]["name"])


def test_the_ingress_evaluator_follows_the_specification() -> None:
    ingress = {"spec": {"rules": [{"http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "all"}}},
        {"path": "/a/b", "pathType": "Prefix", "backend": {"service": {"name": "ab"}}},
        {"path": "/a/b", "pathType": "Exact", "backend": {"service": {"name": "ab-exact"}}},
    ]}}]}}  # fmt: skip
    assert ingress_backend(ingress, "/a/b") == "ab-exact"
    assert ingress_backend(ingress, "/a/b/c") == "ab"
    assert ingress_backend(ingress, "/a/bc") == "all"
    assert ingress_backend(ingress, "/x") == "all"


@pytest.mark.parametrize("size", SIZES)
def test_the_ingress_sends_operations_paths_to_no_pod(size: str) -> None:
    objects = render(size)
    (ingress,) = kinds(objects, "Ingress")
    closed = named(objects, "Service", "kaa-edge-closed")
    assert "selector" not in closed["spec"], "a Service that selects no pod"
    assert closed["metadata"].get("labels", {}).get("app.kubernetes.io/name") != "kaa"
    assert not [
        e for e in kinds(objects, "Endpoints") + kinds(objects, "EndpointSlice")
        if e["metadata"]["name"].startswith("kaa-edge-closed")
    ]  # fmt: skip
    for path in OPERATIONS:
        assert ingress_backend(ingress, path) == "kaa-edge-closed", path
    for path in PUBLIC:
        assert ingress_backend(ingress, path) == "kaa-web", path
    assert ingress_backend(ingress, CALLBACK) == "kaa-connect"


def caddy() -> Path:
    path = Path(
        subprocess.run(
            [str(DEPLOY / "check"), "path", "caddy"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    if not path.is_file():
        pytest.fail(f"caddy is not built: run deploy/check install ({path} is missing)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandIn(BaseHTTPRequestHandler):
    """Any kaa process behind Caddy: answers every path, saying which."""

    def do_GET(self) -> None:
        body = f"reached {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    """The shipped Caddyfile served by caddy on a free port, its upstreams (`dynamic a web 8080`,
    resolved by compose's DNS) pointed at a stand-in; nothing else changed."""
    backend = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    upstream = f"to 127.0.0.1:{backend.server_address[1]}"
    text = (DEPLOY / "compose" / "Caddyfile").read_text()
    assert text.count("dynamic a web 8080") == 1
    assert text.count("dynamic a connect 8080") == 1
    text = text.replace("dynamic a web 8080", upstream).replace("dynamic a connect 8080", upstream)
    config = tmp_path / "Caddyfile"
    config.write_text("{\n\tadmin off\n\tauto_https off\n\tstorage file_system " + str(tmp_path)
                      + "\n}\n" + text)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [str(caddy()), "run", "--config", str(config), "--adapter", "caddyfile"],
        env={"KAA_SITE_ADDRESS": f"http://127.0.0.1:{port}", "HOME": str(tmp_path)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "caddy did not listen within 15 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)
        backend.shutdown()


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (http to 127.0.0.1 only)
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_caddy_answers_operations_paths_itself_and_passes_the_rest(proxy: str) -> None:
    tricks = ("/METRICS", "//metrics", "/%6detrics", "/./health/ready", "/metrics?x=1")
    for path in OPERATIONS + tricks:
        status, body = fetch(proxy + path)
        assert (status, body) == (404, ""), path
    for path in (*PUBLIC, CALLBACK):
        assert fetch(proxy + path) == (200, f"reached {path}"), path
