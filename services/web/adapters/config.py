"""The web application's own settings (`KAA_WEB_…`), beside the deployment's `ServiceSettings`.

Off by default: the development sign-in page (a form to choose municipality and role, which mints a
token with the deployment's secret). The demo turns it on; a production deployment signs in with
OpenID Connect against the municipality's identity provider.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The services' own default ports (`kaa run NAME`); a deployment sets the addresses.
DEFAULT_URLS = {
    "identify": "http://127.0.0.1:8101",
    "outreach": "http://127.0.0.1:8102",
    "measures": "http://127.0.0.1:8103",
    "register": "http://127.0.0.1:8104",
}


class WebConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAA_WEB_", extra="ignore")

    identify_url: str = DEFAULT_URLS["identify"]
    outreach_url: str = DEFAULT_URLS["outreach"]
    measures_url: str = DEFAULT_URLS["measures"]
    register_url: str = DEFAULT_URLS["register"]
    dev_signin: bool = Field(
        default=False,
        description="Offer the development sign-in page (choose municipality and role). Never in "
        "production: anyone reaching the page signs in as anyone.",
    )
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=10, ge=1, le=24)
    cookie_secure: bool = Field(
        default=True,
        description="Mark the session cookie Secure (browsers keep it over https and on "
        "localhost only).",
    )
    service_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # OpenID Connect (production sign-in, `adapters/oidc.py`): all three set, or none.
    oidc_issuer: str | None = Field(
        default=None, description="The identity provider's issuer (discovery is read from it)."
    )
    oidc_client_id: str | None = Field(default=None, description="The web application's client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The client's secret (sent only to the token endpoint)."
    )
    oidc_scope: str = Field(default="openid", description="Scopes asked for (openid always).")
    oidc_resource: str | None = Field(
        default=None,
        description="Resource indicator asked for (RFC 8707), e.g. `kaa-api`, where the provider "
        "issues the services' access tokens per resource.",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback's public address (`https://…/logga-in/svar`); by default taken "
        "from the request.",
    )

    @model_validator(mode="after")
    def _oidc_whole(self) -> WebConfig:
        given = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret]
        if any(given) and not all(given):
            raise ValueError(
                "oidc: KAA_WEB_OIDC_ISSUER, KAA_WEB_OIDC_CLIENT_ID and KAA_WEB_OIDC_CLIENT_SECRET "
                "are set together or not at all"
            )
        return self

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")
