"""The optional tracing component (deploy/kubernetes/components/tracing): added to either overlay,
every process gets OTEL_EXPORTER_OTLP_ENDPOINT and may reach the collector on 4318 (and on no
other port, and nothing else besides); without it, no process has the setting or the way out.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.manifests import (
    DEPLOY,
    SIZES,
    Obj,
    kinds,
    kubernetes_problems,
    kustomize,
    named,
    render,
)
from tests.unit.deploy.test_network_policies import APPS, KAFKA, OUTSIDE, Peer, _app, allowed

COLLECTOR = Peer({"app.kubernetes.io/name": "opentelemetry-collector"}, "observability")
ENDPOINT = "http://otel-collector.observability:4318"


def render_with_tracing(size: str, tmp_path: Path) -> list[Obj]:
    """The overlay with the component added, as an overlay of the consortium's would add it
    (kustomize takes neither absolute paths nor files outside a root: a relative wrapper)."""
    kubernetes = os.path.relpath(DEPLOY / "kubernetes", tmp_path)
    wrapper = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "kaa",
        "resources": [f"{kubernetes}/overlays/{size}"],
        "components": [f"{kubernetes}/components/tracing"],
    }
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(wrapper))
    done = subprocess.run(
        [str(kustomize()), "build", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def endpoint(objects: list[Obj]) -> str | None:
    data: dict[str, str] = named(objects, "ConfigMap", "kaa-settings")["data"]
    return data.get("OTEL_EXPORTER_OTLP_ENDPOINT")


@pytest.mark.parametrize("size", SIZES)
def test_with_the_component_every_process_exports_to_the_collector(
    size: str, tmp_path: Path
) -> None:
    objects = render_with_tracing(size, tmp_path)
    assert endpoint(objects) == ENDPOINT
    policies = kinds(objects, "NetworkPolicy")
    assert named(objects, "NetworkPolicy", "kaa-otlp")["metadata"]["namespace"] == "kaa"
    for name in APPS:
        app = _app(name)
        assert allowed(policies, app, COLLECTOR, 4318), name
        assert not allowed(policies, app, COLLECTOR, 4317), name  # gRPC: kaa exports HTTP only
        assert not allowed(policies, app, Peer(COLLECTOR.labels, "default"), 4318), name
        assert allowed(policies, app, KAFKA, 9092), name  # the base's policies unchanged
        assert not allowed(policies, app, OUTSIDE, 4318), name
    for deployment in kinds(objects, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {"configMapRef": {"name": "kaa-settings"}} in container["envFrom"]
    problems = [p for o in objects if o["apiVersion"] in {"v1", "networking.k8s.io/v1"}
                for p in kubernetes_problems(o)]  # fmt: skip
    assert problems == []
    assert len(objects) == len(render(size)) + 1, "the component adds one policy, nothing else"


@pytest.mark.parametrize("size", SIZES)
def test_without_the_component_no_span_leaves_a_process(size: str) -> None:
    objects = render(size)
    assert endpoint(objects) is None
    policies = kinds(objects, "NetworkPolicy")
    for name in APPS:
        assert not allowed(policies, _app(name), COLLECTOR, 4318), name
