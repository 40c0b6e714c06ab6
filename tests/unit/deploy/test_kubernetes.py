"""The Kubernetes manifests (deploy/kubernetes), rendered by the pinned kustomize for both consortium
sizes and checked offline: built-in objects against Kubernetes' schemas, the operators' objects
against their vendored CRDs, and kaa's own rules (probes, secrets by reference, topics as the code
declares them). Nothing here needs a cluster; none was run here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared import connectors, consortium
from shared.contracts.topics import all_topic_specs
from tests.unit.deploy.manifests import (
    DEPLOY,
    SIZES,
    Obj,
    crd_problems,
    is_operator_object,
    kinds,
    kubernetes_problems,
    named,
    render,
)

SERVICES = ("identify", "outreach", "measures", "register", "web", "connect")
SECRET_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN_SECRET|DATABASE_URL", re.IGNORECASE)


@pytest.mark.parametrize("size", SIZES)
def test_every_built_in_object_is_valid_kubernetes(size: str) -> None:
    objects = [o for o in render(size) if not is_operator_object(o)]
    assert len(objects) > 20
    problems = {f"{o['kind']}/{o['metadata']['name']}": kubernetes_problems(o) for o in objects}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("size", SIZES)
def test_every_operator_object_is_valid_against_its_vendored_crd(size: str) -> None:
    objects = [o for o in render(size) if is_operator_object(o)]
    assert {o["kind"] for o in objects} == {
        "Kafka", "KafkaNodePool", "KafkaTopic", "Cluster", "ObjectStore", "ScheduledBackup",
        "PrometheusRule", "ServiceMonitor",
    }  # fmt: skip
    problems = {f"{o['kind']}/{o['metadata']['name']}": crd_problems(o) for o in objects}
    assert {k: v for k, v in problems.items() if v} == {}


def test_a_broken_object_is_refused_by_the_checks() -> None:
    objects = render("small")
    topic = kinds(objects, "KafkaTopic")[0]
    topic["spec"]["replicationFactor"] = 3  # not a field of KafkaTopic: `replicas` is
    assert crd_problems(topic) == [
        "spec: Additional properties are not allowed ('replicationFactor' was unexpected)"
    ]
    cluster = named(objects, "Cluster", "kaa-db")
    cluster["spec"]["instances"] = "two"
    assert any("instances" in p for p in crd_problems(cluster))
    deployment = named(objects, "Deployment", "kaa-web")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["paht"] = probe["httpGet"].pop("path")
    assert all("'paht' was unexpected" in p for p in kubernetes_problems(deployment))
    unknown = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser", "metadata": {}}
    assert crd_problems(unknown) == ["no vendored CRD for kafka.strimzi.io/v1 KafkaUser"]


@pytest.mark.parametrize("size", SIZES)
def test_the_topics_are_the_platforms_with_three_replicas(size: str) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in kinds(render(size), "KafkaTopic")}
    wanted = {spec.name: spec for spec in all_topic_specs()}
    assert sorted(topics) == sorted(wanted)
    for name, spec in topics.items():
        assert spec["partitions"] == wanted[name].partitions, name
        assert spec["replicas"] == 3, name
        assert spec["config"] == {**wanted[name].config, "min.insync.replicas": "2"}, name
    kafka = named(render(size), "Kafka", "kaa-kafka")["spec"]["kafka"]["config"]
    assert kafka["min.insync.replicas"] == 2
    assert kafka["default.replication.factor"] == 3
    assert kafka["auto.create.topics.enable"] is False


def _container(deployment: Obj) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


@pytest.mark.parametrize("size", SIZES)
def test_each_service_runs_as_a_deployment_with_probes_limits_and_a_budget(size: str) -> None:
    objects = render(size)
    for name in SERVICES:
        deployment = named(objects, "Deployment", f"kaa-{name}")
        container = _container(deployment)
        assert container["args"] == ["run", name]
        assert container["image"] == "registry.example.se/kaa:0.1.0"
        assert deployment["spec"]["replicas"] >= 2
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        budget = named(objects, "PodDisruptionBudget", f"kaa-{name}")
        assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert budget["spec"]["maxUnavailable"] == 1
        service = named(objects, "Service", f"kaa-{name}")
        assert service["spec"]["selector"].items() <= labels.items()


@pytest.mark.parametrize("size", SIZES)
def test_secrets_are_referenced_never_written(size: str) -> None:
    objects = render(size)
    assert kinds(objects, "Secret") == []
    for deployment in kinds(objects, "Deployment"):
        env = {e["name"]: e for e in _container(deployment)["env"]}
        for needed in ("KAA_MASTER_KEY", "KAA_TOKEN_SECRET", "KAA_PSEUDONYM_KEY", "DATABASE_URL"):
            assert env[needed]["valueFrom"]["secretKeyRef"]["name"], needed
        for name, entry in env.items():
            if SECRET_NAME.search(name) and "value" in entry:
                # only a reference to another variable that comes from a secret
                assert re.fullmatch(r"[^$]*\$\(KAA_READER_PASSWORD\)[^$]*", entry["value"]), name
    settings = named(objects, "ConfigMap", "kaa-settings")["data"]
    assert not [k for k in settings if SECRET_NAME.search(k) and k != "KAA_TOKEN_ISSUER"]


@pytest.mark.parametrize("size", SIZES)
def test_postgresql_is_backed_up_by_the_barman_cloud_plugin(size: str) -> None:
    objects = render(size)
    cluster = named(objects, "Cluster", "kaa-db")["spec"]
    plugin = cluster["plugins"][0]
    assert plugin["isWALArchiver"] is True
    store = named(objects, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    assert store["spec"]["retentionPolicy"]
    scheduled = kinds(objects, "ScheduledBackup")
    assert [s["spec"]["cluster"]["name"] for s in scheduled] == ["kaa-db"]
    assert scheduled[0]["spec"]["method"] == "plugin"
    assert cluster["instances"] >= 2
    assert cluster["managed"]["roles"][0]["bypassrls"] is False


def test_the_large_consortium_has_more_of_everything() -> None:
    small, large = render("small"), render("large")

    def memory_mi(objects: list[Obj], name: str) -> int:
        limit = _container(named(objects, "Deployment", name))["resources"]["limits"]["memory"]
        return int(limit[:-2]) * (1024 if limit.endswith("Gi") else 1)

    for name in (f"kaa-{s}" for s in SERVICES):
        assert (
            named(large, "Deployment", name)["spec"]["replicas"]
            >= named(small, "Deployment", name)["spec"]["replicas"]
        )
        assert memory_mi(large, name) >= memory_mi(small, name)
    assert named(large, "Cluster", "kaa-db")["spec"]["instances"] == 3
    assert named(large, "Deployment", "kaa-identify")["spec"]["replicas"] == 3


@pytest.mark.parametrize(("size", "members"), [("small", 5), ("large", 290)])
def test_each_size_ships_a_valid_consortium_and_connectors_file(size: str, members: int) -> None:
    folder = DEPLOY / "kubernetes" / "overlays" / size
    loaded = consortium.load(folder / "consortium.json")
    codes = [m.kommunkod for m in loaded.members]
    assert len(set(codes)) == members
    connectors.load(folder / "connectors.json", codes)
    generated = [
        c
        for c in kinds(render(size), "ConfigMap")
        if c["metadata"]["name"].startswith("kaa-consortium")
    ]
    assert len(generated) == 1
    assert json.loads(generated[0]["data"]["consortium.json"]) == json.loads(
        (folder / "consortium.json").read_text()
    )


def test_the_whole_country_has_each_lans_municipalities() -> None:
    """SCB's kommunkoder: the first two digits are the län; 290 in all, as many per län as there are."""
    per_lan = {"01": 26, "03": 8, "04": 9, "05": 13, "06": 13, "07": 8, "08": 12, "09": 1, "10": 5,
               "12": 33, "13": 6, "14": 49, "17": 16, "18": 12, "19": 10, "20": 15, "21": 10,
               "22": 7, "23": 8, "24": 15, "25": 14}  # fmt: skip
    loaded = consortium.load(DEPLOY / "kubernetes" / "overlays" / "large" / "consortium.json")
    counted: dict[str, int] = {}
    for member in loaded.members:
        counted[member.kommunkod[:2]] = counted.get(member.kommunkod[:2], 0) + 1
    assert counted == per_lan
    assert sum(per_lan.values()) == 290
