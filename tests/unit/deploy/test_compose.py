"""deploy/compose.yaml, the one-server consortium, checked offline (no container engine here): valid
against the Compose Specification's schema (vendored), and kaa's rules: three KRaft brokers of the
official image, PostgreSQL on a volume, every kaa service twice with a health check and a restart
policy, read-only, the web behind one address, and no secret written in the file.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft7Validator

from tests.unit.deploy.manifests import DEPLOY, VENDOR, load_yaml

KAA = ("identify", "outreach", "measures", "register", "web", "connect")
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|DATABASE_URL|CLUSTER_ID", re.IGNORECASE)
# A secret's value may only be taken from the env file: `${NAME:?why}` (compose refuses to start
# without it) inside whatever else the value says (a URL around a password).
INTERPOLATED = re.compile(r"\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(DEPLOY / "compose.yaml")
    return document


def problems(document: dict[str, Any]) -> list[str]:
    """What breaks kaa's rules for the compose file (empty: none)."""
    found = []
    schema = json.loads((VENDOR / "compose-spec" / "compose-spec.json").read_text())
    found += [f"schema: {e.message[:160]}" for e in Draft7Validator(schema).iter_errors(document)]
    for name, service in document["services"].items():
        if "healthcheck" not in service:
            found.append(f"{name}: no healthcheck")
        if service.get("restart") not in {"unless-stopped", "always"}:
            found.append(f"{name}: no restart policy")
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAME.search(key) and not INTERPOLATED.search(text):
                found.append(f"{name}: {key} is written in the file")
    for name in KAA:
        service = document["services"][name]
        if service.get("deploy", {}).get("replicas") != 2:
            found.append(f"{name}: not two replicas")
        if service.get("command") != ["run", name]:
            found.append(f"{name}: does not run `kaa run {name}`")
        if not service.get("read_only"):
            found.append(f"{name}: root file system writable")
        if "/health/ready" not in " ".join(service.get("healthcheck", {}).get("test", [])):
            found.append(f"{name}: health check is not /health/ready")
        if "ports" in service:
            found.append(f"{name}: published on the host (only the proxy is)")
    return found


def test_the_compose_file_follows_the_rules() -> None:
    assert problems(compose()) == []


def test_a_compose_file_breaking_the_rules_is_refused() -> None:
    broken = json.loads(json.dumps(compose()))  # no YAML alias shared between services
    broken["services"]["identify"]["environment"]["KAA_MASTER_KEY"] = "hunter2hunter2hunter2"
    del broken["services"]["register"]["healthcheck"]
    broken["services"]["web"]["deploy"]["replicas"] = 1
    broken["services"]["outreach"]["ports"] = ["8102:8080"]
    broken["services"]["measures"]["restrat"] = "always"
    assert sorted(problems(broken)) == sorted(
        [
            "schema: 'restrat' does not match any of the regexes: '^x-'",
            "register: no healthcheck",
            "register: health check is not /health/ready",
            "identify: KAA_MASTER_KEY is written in the file",
            "web: not two replicas",
            "outreach: published on the host (only the proxy is)",
        ]
    )


def test_three_kraft_brokers_postgresql_and_one_address() -> None:
    services = compose()["services"]
    brokers = [services[f"kafka-{n}"] for n in (1, 2, 3)]
    assert {b["image"] for b in brokers} == {"docker.io/apache/kafka:4.1.1"}
    for number, broker in enumerate(brokers, start=1):
        env = broker["environment"]
        assert env["KAFKA_NODE_ID"] == str(number)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert (
            env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
        )
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert broker["volumes"] == [f"kafka-{number}:/var/lib/kafka/data"]
    assert services["postgres"]["volumes"] == ["postgres:/var/lib/postgresql/data"]
    every = {n: s["environment"] for n, s in services.items() if n in KAA}
    assert {e["KAFKA_BOOTSTRAP_SERVERS"] for e in every.values()} == {
        "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    }
    assert all(e["DATABASE_URL"].endswith("@postgres:5432/kaa") for e in every.values())
    published = {n: s["ports"] for n, s in services.items() if "ports" in s}
    assert published == {"proxy": ["80:80", "443:443"]}
    caddyfile = (DEPLOY / "compose" / "Caddyfile").read_text()
    assert "dynamic a web 8080" in caddyfile
    assert "handle /v1/ss12000/callbacks/*" in caddyfile
    assert "@ops path /metrics /metrics/* /health /health/*" in caddyfile  # test_edge.py runs it


def test_the_env_file_example_names_every_variable_the_compose_file_requires() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text))
    example = (DEPLOY / "compose" / "kaa.env.example").read_text()
    named = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert required <= named, required - named
    assert re.findall(r"^[A-Z_][A-Z0-9_]*=(.+)$", example, re.M) == []  # no value filled in
