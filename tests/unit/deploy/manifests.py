"""What the deployment tests share: the overlays rendered by the pinned kustomize, the operators'
CRD schemas vendored in deploy/vendor, and the check of an object against Kubernetes' own schemas.

Rendering needs kustomize built by `deploy/check install` (./run test runs it): no cluster, no
container engine, nothing fetched at test time.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
VENDOR = DEPLOY / "vendor"
SIZES = ("small", "large")
# The Kubernetes version the built-in objects are checked against: the oldest the operators used
# here support (CloudNativePG 1.30 and Strimzi 1.2 both run on 1.32), and the newest the
# validator knows, so an object valid on one and not the other is seen.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")
# The operators' API groups: their objects are checked against the vendored CRDs instead.
OPERATOR_GROUPS = (
    "kafka.strimzi.io",
    "postgresql.cnpg.io",
    "barmancloud.cnpg.io",
    "monitoring.coreos.com",
)
CRD_FILES = (
    "strimzi/040-Crd-kafka.yaml",
    "strimzi/043-Crd-kafkatopic.yaml",
    "strimzi/045-Crd-kafkanodepool.yaml",
    "cloudnative-pg/postgresql.cnpg.io_clusters.yaml",
    "cloudnative-pg/postgresql.cnpg.io_scheduledbackups.yaml",
    "plugin-barman-cloud/barmancloud.cnpg.io_objectstores.yaml",
    "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
    "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
)

Obj = dict[str, Any]


def kustomize() -> Path:
    """The pinned kustomize `deploy/check install` built; the test fails, naming the command, when
    it is missing (never skipped: the manifests would go unchecked)."""
    path = Path(
        subprocess.run(
            [str(DEPLOY / "check"), "path", "kustomize"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    if not path.is_file():
        pytest.fail(f"kustomize is not built: run deploy/check install ({path} is missing)")
    return path


@functools.cache
def _rendered(size: str) -> tuple[Obj, ...]:
    overlay = DEPLOY / "kubernetes" / "overlays" / size
    done = subprocess.run(
        [str(kustomize()), "build", str(overlay)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"kustomize build {size}: {done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def render(size: str) -> list[Obj]:
    """The overlay's objects, each a fresh copy (a test may change its own)."""
    return copy.deepcopy(list(_rendered(size)))


def kinds(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in kinds(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def is_operator_object(obj: Obj) -> bool:
    return str(obj["apiVersion"]).split("/")[0] in OPERATOR_GROUPS


def kubernetes_problems(obj: Obj) -> list[str]:
    """What Kubernetes' own schema (strict: no unknown field) refuses in a built-in object, for each
    pinned version; empty when it is valid."""
    problems = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{version}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{version}: no schema for {obj['apiVersion']} {obj['kind']}")
    return problems


def _strict(schema: Any) -> Any:
    """The CRD's schema as the API server applies it to a manifest: a field the schema does not
    declare is refused (kubectl's strict field validation), except where the schema keeps unknown
    fields (`x-kubernetes-preserve-unknown-fields`) or allows any (`additionalProperties`)."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _crd_versions() -> Iterator[tuple[str, str, str, Obj]]:
    for name in CRD_FILES:
        crd = yaml.safe_load((VENDOR / name).read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                yield group, version["name"], kind, version["schema"]["openAPIV3Schema"]


@functools.cache
def crd_validators() -> dict[tuple[str, str], Draft7Validator]:
    """Per (apiVersion, kind): a validator of the vendored CRD's schema."""
    validators = {}
    for group, version, kind, schema in _crd_versions():
        schema = _strict(schema)
        # metadata is the API server's: the CRD declares it as a bare object
        schema.setdefault("properties", {})["metadata"] = {"type": "object"}
        schema["properties"]["apiVersion"] = {"type": "string"}
        schema["properties"]["kind"] = {"type": "string"}
        validators[(f"{group}/{version}", kind)] = Draft7Validator(schema)
    return validators


def crd_problems(obj: Obj) -> list[str]:
    """What the operator's CRD schema refuses in an object; empty when it is valid."""
    validator = crd_validators().get((obj["apiVersion"], obj["kind"]))
    if validator is None:
        return [f"no vendored CRD for {obj['apiVersion']} {obj['kind']}"]
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:200]}"
        for error in validator.iter_errors(obj)
    ]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def instructions(text: str) -> list[tuple[str, str]]:
    """The Containerfile's instructions, (KEYWORD, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]
