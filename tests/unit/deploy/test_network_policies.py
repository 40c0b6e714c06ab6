"""The NetworkPolicies, read as Kubernetes applies them: each kaa process reaches only Kafka, its
PostgreSQL, DNS and what it calls (web: the services; connect and the services: https outside),
and is reached only by who calls it (the ingress controller: web and connect; web: the services;
Prometheus: every /metrics). A small evaluator of the rendered policies answers "may A open a
connection to B on port P?": egress of A's policies and ingress of B's, both must allow it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.unit.deploy.manifests import SIZES, Obj, kinds, render

NAMESPACE = "kaa"


@dataclass(frozen=True)
class Peer:
    """A pod (labels, namespace) or an address outside the cluster (`ip`)."""

    labels: dict[str, str] = field(default_factory=dict)
    namespace: str = NAMESPACE
    ip: str | None = None


def _app(component: str) -> Peer:
    return Peer({"app.kubernetes.io/name": "kaa", "app.kubernetes.io/component": component})


SERVICES = ("identify", "outreach", "measures", "register")
APPS = (*SERVICES, "web", "connect")
KAFKA = Peer(
    {
        "strimzi.io/cluster": "kaa-kafka",
        "strimzi.io/kind": "Kafka",
        "strimzi.io/broker-role": "true",
    }
)
POSTGRES = Peer({"cnpg.io/cluster": "kaa-db", "cnpg.io/instanceRole": "primary"})
DNS = Peer({"k8s-app": "kube-dns"}, "kube-system")
INGRESS = Peer({"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
PROMETHEUS = Peer({"app.kubernetes.io/name": "prometheus"}, "monitoring")
OUTSIDE = Peer(ip="203.0.113.10")
PRIVATE = Peer(ip="10.1.2.3")


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, op = labels.get(expression["key"]), expression["operator"]
        if op == "In" and value not in expression["values"]:
            return False
        if op == "NotIn" and value in expression["values"]:
            return False
        if (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def _in_block(ip: str, block: dict[str, Any]) -> bool:
    address = ipaddress.ip_address(ip)
    inside = address in ipaddress.ip_network(block["cidr"])
    return inside and not any(address in ipaddress.ip_network(e) for e in block.get("except", []))


def _peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        return peer.ip is not None and _in_block(peer.ip, rule_peer["ipBlock"])
    if peer.ip is not None:
        return False
    if "namespaceSelector" in rule_peer:
        ns_labels = {"kubernetes.io/metadata.name": peer.namespace}
        if not _selects(rule_peer["namespaceSelector"], ns_labels):
            return False
    elif peer.namespace != NAMESPACE:
        return False
    return _selects(rule_peer.get("podSelector", {}), peer.labels)


def _rule_allows(rule: dict[str, Any], key: str, peer: Peer, port: int) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("port") == port for p in ports):
        return False
    peers = rule.get(key)
    return not peers or any(_peer_matches(p, peer) for p in peers)


def _side_allows(policies: list[Obj], kind: str, pod: Peer, other: Peer, port: int) -> bool:
    """Whether the policies selecting `pod` for `kind` (Egress / Ingress) let `other` through."""
    if pod.ip is not None or pod.namespace != NAMESPACE:
        return True  # outside this namespace: not our policies' business
    key, rules = ("to", "egress") if kind == "Egress" else ("from", "ingress")
    selecting = [
        p["spec"] for p in policies
        if kind in p["spec"].get("policyTypes", []) and _selects(p["spec"]["podSelector"], pod.labels)
    ]  # fmt: skip
    if not selecting:
        return True
    return any(_rule_allows(r, key, other, port) for s in selecting for r in s.get(rules, []))


def allowed(policies: list[Obj], source: Peer, target: Peer, port: int) -> bool:
    return _side_allows(policies, "Egress", source, target, port) and _side_allows(
        policies, "Ingress", target, source, port
    )


@pytest.mark.parametrize("size", SIZES)
def test_each_process_reaches_only_what_it_needs(size: str) -> None:
    policies = kinds(render(size), "NetworkPolicy")
    for name in APPS:
        app = _app(name)
        assert allowed(policies, app, KAFKA, 9092), name
        assert not allowed(policies, app, KAFKA, 9093), name  # the KRaft controllers
        assert allowed(policies, app, POSTGRES, 5432), name
        assert allowed(policies, app, DNS, 53), name
        assert allowed(policies, app, OUTSIDE, 443), name  # identity provider / organisers
        assert not allowed(policies, app, OUTSIDE, 80), name
        assert not allowed(policies, app, PRIVATE, 443), name
        assert allowed(policies, PROMETHEUS, app, 8080), name
    for name in (*SERVICES, "connect"):
        assert allowed(policies, _app("web"), _app(name), 8080), name
        for other in APPS:
            if other != "web":
                assert not allowed(policies, _app(other), _app(name), 8080), (other, name)
    assert not allowed(policies, _app("register"), _app("web"), 8080)


@pytest.mark.parametrize("size", SIZES)
def test_from_outside_only_the_web_and_connects_callbacks_are_reached(size: str) -> None:
    objects = render(size)
    policies = kinds(objects, "NetworkPolicy")
    assert allowed(policies, INGRESS, _app("web"), 8080)
    assert allowed(policies, INGRESS, _app("connect"), 8080)
    for name in SERVICES:
        assert not allowed(policies, INGRESS, _app(name), 8080), name
    assert not allowed(policies, INGRESS, POSTGRES, 5432)
    assert allowed(policies, PROMETHEUS, POSTGRES, 9187)
    (ingress,) = kinds(objects, "Ingress")
    routes = {
        p["path"]: p["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    assert routes == {"/v1/ss12000/callbacks/": "kaa-connect", "/": "kaa-web",
                      "/metrics": "kaa-edge-closed", "/health": "kaa-edge-closed"}  # fmt: skip


def test_the_evaluator_sees_a_policy_that_lets_everything_through() -> None:
    policies = kinds(render("small"), "NetworkPolicy")
    assert not allowed(policies, _app("identify"), _app("register"), 8080)
    for policy in policies:
        if policy["metadata"]["name"] == "kaa-dependencies":
            policy["spec"]["egress"].append({"to": [{"podSelector": {}}]})
        if policy["metadata"]["name"] == "kaa-services":
            policy["spec"]["ingress"].append({"from": [{"podSelector": {}}]})
    assert allowed(policies, _app("identify"), _app("register"), 8080)
