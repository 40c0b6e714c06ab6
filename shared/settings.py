"""Settings every service process reads (one typed object per process, from the environment).

For development, `kaa infra up` writes `.kaa/infra.env` and `kaa` writes `.kaa/secrets.env`;
both are read as defaults, and real environment variables always win.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared import consortium
from shared.auth import TokenVerifier
from shared.infra.settings import PROJECT_ROOT

KAA_HOME = PROJECT_ROOT / ".kaa"
SECRETS_FILE = KAA_HOME / "secrets.env"


def _of(member: consortium.Member, setting: str) -> bool:
    return (
        bool(member.scope_policy)
        if setting == "tenant_policies"
        else (member.retention_days is not None)
    )


def ensure_dev_secrets(path: Path = SECRETS_FILE) -> Path:
    """Create the development secrets once: token secret, pseudonym key, master key."""
    wanted = ("KAA_TOKEN_SECRET", "KAA_PSEUDONYM_KEY", "KAA_MASTER_KEY")
    lines = path.read_text().splitlines() if path.is_file() else []
    present = {line.split("=", 1)[0] for line in lines}
    missing = [name for name in wanted if name not in present]
    if missing:  # a file from an older version gains the secrets it lacks, the others are kept
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(
            "".join(f"{line}\n" for line in lines)
            + "".join(f"{name}={secrets.token_urlsafe(32)}\n" for name in missing)
        )
        tmp.replace(path)
    return path


class ServiceSettings(BaseSettings):
    """Connection, security and tenancy settings of a kaa process."""

    model_config = SettingsConfigDict(
        env_prefix="KAA_",
        env_file=(KAA_HOME / "infra.env", SECRETS_FILE),
        extra="ignore",
        populate_by_name=True,
    )

    kafka_bootstrap_servers: str = Field(validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    database_url: SecretStr = Field(validation_alias="DATABASE_URL")
    reader_database_url: SecretStr | None = Field(
        default=None,
        description="The role the register's query API reads as (row-level security applies to "
        "it); by default one made per database with a password derived from the master key.",
    )
    token_secret: SecretStr = Field(description="Signs and verifies bearer tokens (HS256).")
    jwks_url: str | None = Field(
        default=None,
        description="The identity provider's JWKS document: RS256/ES256 tokens are verified "
        "with the keys it lists.",
    )
    token_issuer: str | None = Field(
        default=None, description="The `iss` the identity provider's tokens carry."
    )
    token_audience: str = Field(default="kaa-api", description="The `aud` every token must carry.")
    pseudonym_key: SecretStr = Field(description="Keys the HMAC that pseudonymises personnummer.")
    master_key: SecretStr = Field(
        description="Root of the tenants' key-encryption keys (personal data is sealed per youth)."
    )
    tenants: Annotated[list[str], NoDecode] = Field(
        default=["0180"],
        description="Kommunkoder this deployment serves (a consortium lists several), comma-separated.",
    )
    namespace: str = Field(
        default="",
        pattern=r"^[a-z0-9.-]*$",
        description="Prefix of every topic and consumer group (isolates tests and demos on one cluster).",
    )
    tenant_policies: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-kommunkod overrides of the scope policy as JSON, e.g. "
        '{"0180": {"adult_education_keeps_in_scope": false}}',
    )
    personal_data: Literal["sealed", "unsealed-benchmark-only"] = Field(
        default="sealed",
        description="Personal details are sealed per youth; unsealed only to measure what sealing "
        "costs, in a benchmark namespace (bench-…).",
    )
    feed_plaintext: Literal["refuse", "accept"] = Field(
        default="refuse",
        description="Feed records not sealed by the feed adapter (shared/intake.py) are parked "
        "in the dead-letter topic; `accept` for an upstream system that can only write to Kafka "
        "itself (its records then carry personal data in the clear for the topic's retention).",
    )
    retention_days: dict[str, Annotated[int, Field(ge=1, le=3650)]] = Field(
        default_factory=dict,
        description="Per-kommunkod retention of personal data after a youth left scope, in days, "
        'as JSON, e.g. {"0180": 1095}; 730 days when not named.',
    )
    retention_interval: float = Field(
        default=86400.0, gt=0, description="Seconds between the register's retention runs."
    )
    schedule_interval: float = Field(
        default=60.0, gt=0, description="Seconds between runs of identify's scope schedule."
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8100, ge=1, le=65535)
    today: date | None = Field(
        default=None, description="Fixed 'today' for scope decisions (demos and tests only)."
    )
    batch_size: int = Field(default=500, ge=1, le=10000)
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest request body a service accepts (413)."
    )
    log_level: str = "INFO"

    consortium_file: Path | None = Field(
        default=None,
        description="A consortium document: the members served, each one's name, scope policy "
        "and retention (shared/consortium.py).",
    )
    tenant_names: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _consortium(cls, data: Any) -> Any:
        """The consortium document gives tenants, scope policies and retention periods; a
        variable that says otherwise is an error, not silently overridden."""
        if not isinstance(data, dict) or not data.get("consortium_file"):
            return data
        members = consortium.load(Path(data["consortium_file"])).members
        codes = [m.kommunkod for m in members]
        given_tenants = data.get("tenants")
        if isinstance(given_tenants, str):
            given_tenants = [t.strip() for t in given_tenants.split(",") if t.strip()]
        if given_tenants is not None and sorted(given_tenants) != sorted(codes):
            raise ValueError("tenants: KAA_TENANTS and the consortium file list other members")
        policies = {m.kommunkod: m.scope_policy for m in members if m.scope_policy}
        retention = {m.kommunkod: m.retention_days for m in members if m.retention_days}
        merged: dict[str, Any] = {}
        for name, from_file in (("tenant_policies", policies), ("retention_days", retention)):
            given = data.get(name) or {}
            if isinstance(given, str):
                given = json.loads(given)
            clash = sorted(set(given) & set(from_file))
            if clash:
                raise ValueError(f"{name}: {', '.join(clash)} set both here and in the file")
            merged[name] = {**given, **from_file}
        return {**data, **merged, "tenants": codes,
                "tenant_names": {m.kommunkod: m.name for m in members}}  # fmt: skip

    @model_validator(mode="after")
    def _sealed_outside_benchmarks(self) -> ServiceSettings:
        if self.personal_data != "sealed" and not self.namespace.startswith("bench-"):
            raise ValueError(
                "personal_data: unsealed personal data is for benchmarks only (namespace bench-…)"
            )
        return self

    def token_verifier(self) -> TokenVerifier:
        return TokenVerifier(
            self.token_secret.get_secret_value(),
            jwks_url=self.jwks_url,
            issuer=self.token_issuer,
            audience=self.token_audience,
        )

    def topic(self, name: str) -> str:
        """The physical topic name of a contract topic."""
        return f"{self.namespace}{name}"

    @field_validator("tenants", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("tenants")
    @classmethod
    def _kommunkoder(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (len(code) == 4 and code.isdigit()):
                raise ValueError("each tenant must be a 4-digit kommunkod")
        return value
