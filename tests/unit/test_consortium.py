"""The consortium document: members, their policies and retention, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.consortium import load
from shared.settings import ServiceSettings

EXAMPLE = Path(__file__).parents[2] / "deploy" / "consortium.example.json"
COMMON = {
    "kafka_bootstrap_servers": "127.0.0.1:9",
    "database_url": "postgresql://x:y@127.0.0.1:9/x",
    "token_secret": "t" * 32,
    "pseudonym_key": "p" * 32,
    "master_key": "m" * 32,
}


def settings(**values: Any) -> ServiceSettings:
    return ServiceSettings.model_validate(COMMON | values)


def test_the_example_document_configures_the_deployment() -> None:
    configured = settings(consortium_file=EXAMPLE)
    assert configured.tenants == ["0180", "0181", "0136"]
    assert configured.tenant_names["0181"] == "Södertälje"
    assert configured.tenant_policies == {"0181": {"adult_education_keeps_in_scope": False}}
    assert configured.retention_days == {"0180": 730, "0181": 1095}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"name": "x", "members": []}, "members: List should have at least 1 item"),
        ({"name": "x", "members": [{"kommunkod": "180", "name": "S"}]}, "members.0.kommunkod"),
        ({"name": "x", "members": [{"kommunkod": "0180", "name": "S"},
                                   {"kommunkod": "0180", "name": "T"}]},
         "0180 listed more than once"),
        ({"name": "x", "members": [{"kommunkod": "0180", "name": "S", "colour": "red"}]},
         "members.0.colour: Extra inputs are not permitted"),
        ({"name": "x", "members": [{"kommunkod": "0180", "name": "S", "retention_days": 1}]},
         "members.0.retention_days"),
    ],
)  # fmt: skip
def test_a_bad_document_names_the_field(
    tmp_path: Path, document: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "consortium.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="consortium_file: ") as refused:
        load(path)
    assert problem in str(refused.value)


def test_an_unreadable_document_and_contradicting_variables_are_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        load(broken)
    with pytest.raises(ValueError, match="cannot read"):
        load(tmp_path / "missing.json")
    with pytest.raises(ValidationError, match="KAA_TENANTS and the consortium file"):
        settings(consortium_file=EXAMPLE, tenants=["0180"])
    with pytest.raises(ValidationError, match="retention_days: 0181 set both here and in the file"):
        settings(consortium_file=EXAMPLE, retention_days={"0181": 400})
    assert settings(consortium_file=EXAMPLE, tenants=["0136", "0180", "0181"]).tenants
