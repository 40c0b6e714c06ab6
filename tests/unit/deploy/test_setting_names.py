"""Every setting the deployment material gives a kaa process is one kaa reads: a misspelt name
(`KAA_TOKEN_ISUER`) would be ignored without a word by the settings classes (`extra="ignore"`) and
leave the deployment on a default. Read from the classes themselves, so a renamed setting fails here.
"""

from __future__ import annotations

import re

from pydantic_settings import BaseSettings

from services.outreach.adapters.letter_mail import MailSettings
from services.web.adapters.config import WebConfig
from services.web.adapters.platform import PlatformConfig
from shared.settings import ServiceSettings
from tests.unit.deploy.manifests import DEPLOY, SIZES, instructions, kinds, load_yaml, named, render

KAA = ("identify", "outreach", "measures", "register", "web", "connect")
# Read outside the settings classes: the launcher's directory (shared/infra/settings.py), the
# OpenTelemetry SDK's own variables (shared/tracing.py).
OTHERS = {"KAA_HOME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}


def known_names() -> set[str]:
    names = set(OTHERS)
    classes: tuple[type[BaseSettings], ...] = (
        ServiceSettings,
        WebConfig,
        PlatformConfig,
        MailSettings,
    )
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def unknown(names: set[str]) -> set[str]:
    return names - known_names()


def test_the_names_come_from_the_settings_classes() -> None:
    names = known_names()
    assert {
        "KAFKA_BOOTSTRAP_SERVERS",
        "DATABASE_URL",
        "KAA_MASTER_KEY",
        "KAA_WEB_OIDC_ISSUER",
    } <= names
    assert {"KAA_CONSORTIUM_FILE", "KAA_WEB_CONNECT_URL", "KAA_READER_DATABASE_URL"} <= names
    assert unknown({"KAA_TOKEN_ISUER", "KAA_TOKEN_ISSUER"}) == {"KAA_TOKEN_ISUER"}


def test_compose_gives_only_settings_kaa_reads() -> None:
    services = load_yaml(DEPLOY / "compose.yaml")["services"]
    given = {key for name in KAA for key in services[name]["environment"]}
    assert unknown(given) == set()


def test_the_manifests_give_only_settings_kaa_reads() -> None:
    for size in SIZES:
        objects = render(size)
        given = set(named(objects, "ConfigMap", "kaa-settings")["data"])
        for deployment in kinds(objects, "Deployment"):
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                # KAA_READER_PASSWORD only carries the secret into KAA_READER_DATABASE_URL
                given |= {e["name"] for e in container["env"]} - {"KAA_READER_PASSWORD"}
        assert unknown(given) == set(), size


def test_the_image_sets_only_settings_kaa_reads() -> None:
    steps = instructions((DEPLOY / "Containerfile").read_text())
    given = {
        n for key, args in steps if key == "ENV" for n in re.findall(r"\b(KAA_[A-Z_]+)=", args)
    }
    assert given == {"KAA_HOME", "KAA_HTTP_HOST", "KAA_HTTP_PORT"}
    assert unknown(given) == set()
