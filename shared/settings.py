"""Settings every service process reads (one typed object per process, from the environment).

For development, `kaa infra up` writes `$KAA_HOME/infra.env` and `kaa` writes
`$KAA_HOME/secrets.env` (`KAA_HOME` defaults to `<repo>/.kaa`); both are read as defaults, from
the `KAA_HOME` of the moment the settings are read, and real environment variables always win.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared import consortium
from shared.auth import MAX_LIFETIME_SECONDS, TokenVerifier
from shared.contracts.feeds import SOURCE_PATTERN
from shared.contracts.topics import namespace_prefix
from shared.infra.settings import kaa_home
from shared.token_claims import ClaimMap


def secrets_file() -> Path:
    """The development secrets: `$KAA_HOME/secrets.env`."""
    return kaa_home() / "secrets.env"


def dev_env_files() -> tuple[Path, Path]:
    """The files read as defaults: `$KAA_HOME/infra.env` and `$KAA_HOME/secrets.env`."""
    return kaa_home() / "infra.env", secrets_file()


def _of(member: consortium.Member, setting: str) -> bool:
    return (
        bool(member.scope_policy)
        if setting == "tenant_policies"
        else (member.retention_days is not None)
    )


class MissingSecretError(ValueError):
    """A secret the installed platform needs is not set (the message names the variable)."""


def ensure_dev_secrets(path: Path | None = None) -> Path:
    """Create the development secrets once (`$KAA_HOME/secrets.env` unless `path` is given):
    token secret, pseudonym key, master key."""
    path = path or secrets_file()
    wanted = ("KAA_TOKEN_SECRET", "KAA_PSEUDONYM_KEY", "KAA_MASTER_KEY")
    lines = path.read_text().splitlines() if path.is_file() else []
    present = {line.split("=", 1)[0] for line in lines}
    # A secret the environment sets is never generated nor written (a production container has a
    # read-only file system and its secrets from its secret store).
    missing = [name for name in wanted if name not in present and not os.environ.get(name)]
    if missing and importlib.util.find_spec("kaa.dev") is None:
        # The wheel production installs has no development launcher: a key made up here would
        # seal personal data with a key nobody backed up.
        raise MissingSecretError(
            f"{missing[0]}: not set; an installed platform never generates it "
            "(set it from the deployment's secret store)"
        )
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


def _environment_then_files(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """The environment first, then the files in `KAA_HOME` as it is now (not as it was when this
    module was imported, and never `<repo>/.kaa` when `KAA_HOME` says otherwise)."""
    files = DotEnvSettingsSource(settings_cls, env_file=dev_env_files())
    return init_settings, env_settings, files


class _NamespaceSetting(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAA_", extra="ignore")

    namespace: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return _environment_then_files(settings_cls, init_settings, env_settings)


def current_namespace() -> str:
    """The deployment namespace this process runs in (`KAA_NAMESPACE`, as `ServiceSettings`
    reads it), with its separator."""
    return namespace_prefix(_NamespaceSetting().namespace)


class ServiceSettings(BaseSettings):
    """Connection, security and tenancy settings of a kaa process."""

    model_config = SettingsConfigDict(env_prefix="KAA_", extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            *_environment_then_files(settings_cls, init_settings, env_settings),
            file_secret_settings,
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
    token_claims: ClaimMap = Field(
        default_factory=ClaimMap,
        description="Which claims of the identity provider's tokens hold the roles (and a map "
        "from its group names to kaa's roles) and the kommunkod, as JSON (`shared.token_claims`).",
    )
    token_max_lifetime: float = Field(
        default=MAX_LIFETIME_SECONDS,
        gt=0,
        le=30 * 24 * 3600,
        description="Seconds a token may live at most (`exp - iat`, or `exp - now` without "
        "`iat`); a token that lives longer is refused.",
    )
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
        description="Prefix of every topic and consumer group, with its separator (`probe`: "
        "topics `probe.kaa.…`); isolates deployments on one Kafka cluster. Not the database: "
        "each namespace needs a database of its own (a service refuses a database another "
        "namespace uses).",
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
    feed_sources: Annotated[list[str], NoDecode] = Field(
        default=["population", "ss12000"],
        description="The feed sources whose watermarks ('complete up to T') identify waits for "
        "before it decides a person whose facts changed, comma-separated; a municipality can "
        'name its own in KAA_TENANT_POLICIES ({"0180": {"feed_sources": ["population"]}} for one '
        "without an SS 12000 feed). Empty: decide each record as it is read, in arrival order "
        "(for feed writers that publish no watermarks). A school's notification is decided at "
        "once whatever this says.",
    )
    feed_settle: float = Field(
        default=86400.0,
        ge=0,
        le=30 * 86400.0,
        description="Seconds a person waits for a source that stays silent: then decided on the "
        "facts known (one day by default: the population register and school systems deliver "
        "at least daily).",
    )
    fast_routes: bool = Field(
        default=True,
        description="Casework's hottest routes (recording a contact attempt, reading a worklist "
        "page) answered by a plain ASGI handler with the same checks and answers; False: every "
        "request through the framework (to compare, or should an answer ever differ).",
    )
    connectors_file: Path | None = Field(
        default=None,
        description="The SS 12000 organisers each municipality reads (shared/connectors.py): the "
        "connect service syncs them, identify waits for their watermarks in place of 'ss12000'.",
    )
    population_dir: Path | None = Field(
        default=None,
        description="A directory the connect service watches for population delivery files "
        "(like `kaa feed watch DIR`): each loaded once, then moved to done/ or quarantine/.",
    )
    connect_public_url: str | None = Field(
        default=None,
        description="The address the organisers' systems reach the connect service at, for the "
        "subscriptions' callbacks (https://kaa.example.se/connect); unset: no subscription is "
        "made and polling alone keeps the organisers current.",
    )
    early_event_wait: float = Field(
        default=7 * 86400.0,
        ge=1,
        le=365 * 86400.0,
        description="Seconds casework that arrived before its youth's identification waits for "
        "it; after that it is a dead event ('youth never identified within …').",
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
            max_lifetime=self.token_max_lifetime,
            claim_map=self.token_claims,
        )

    def topic(self, name: str) -> str:
        """The physical topic name of a contract topic."""
        return f"{self.namespace}{name}"

    @field_validator("namespace")
    @classmethod
    def _separated(cls, value: str) -> str:
        return namespace_prefix(value)

    @field_validator("tenants", "feed_sources", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("feed_sources")
    @classmethod
    def _source_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(SOURCE_PATTERN, name):
                raise ValueError("each feed source is a name of lower-case letters and digits")
        return value

    @field_validator("tenants")
    @classmethod
    def _kommunkoder(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (len(code) == 4 and code.isdigit()):
                raise ValueError("each tenant must be a 4-digit kommunkod")
        return value
