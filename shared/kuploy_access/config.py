"""Settings read from the environment once per container.

A deployed function gets the variables below from template.yaml (Globals: Function:
Environment) and its region from Lambda (AWS_REGION). Without one it is a broken
deployment, so there are no defaults to fall back on (a default would name some other
table, secret or sender): `settings()` raises MissingSetting naming every missing
variable, at cold start (kuploy_access.wiring reads the settings when it is imported).
The Secrets Manager ids are checked when read, by the code that opens a secret (the
idempotency key's only in the four functions with create routes, which alone get it): the
operator's command line (kuploy_access.cli) shares the wiring but never opens one, and
runs with TABLE_NAME, SENDER_EMAIL and PUBLIC_BASE_URL alone.

Local values are set by whatever runs the code locally: the local server
(devserver.environment), the tests (tests/conftest.py) and the bench, all from
devserver.embedded_aws.LOCAL_ENVIRONMENT. Tunables (session lifetimes, invitation
days, quiet answers, the sudo window) keep defaults, the same as template.yaml's
parameters.

EDGE_ORIGIN_SECRET is optional: the secret the console's CloudFront distribution sends
the API (template.yaml gives it to every function). With it, a request that carries
it is from the edge, and its viewer's address counts as the client's
(kuploy_access.domain.client_address). Where it is unset or blank, as on the local
server and in the tests, the client is always API Gateway's source IP.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from kuploy_access.domain.sessions import SUDO_MODE_WINDOW, SessionLifetimes

TABLE_NAME = "TABLE_NAME"
PUBLIC_BASE_URL = "PUBLIC_BASE_URL"
SENDER_EMAIL = "SENDER_EMAIL"
SIGNING_KEY_SECRET_ID = "SIGNING_KEY_SECRET_ID"
TOTP_KEY_SECRET_ID = "TOTP_KEY_SECRET_ID"
SECRET_ID_VARIABLES = (SIGNING_KEY_SECRET_ID, TOTP_KEY_SECRET_ID)
# The key the first answers to Idempotency-Keys are sealed with: only the four functions
# with create routes get it (template.yaml), so it is not among the required variables.
IDEMPOTENCY_KEY_SECRET_ID = "IDEMPOTENCY_KEY_SECRET_ID"
EDGE_ORIGIN_SECRET = "EDGE_ORIGIN_SECRET"
# The SES configuration set emails are sent with (template.yaml's EmailConfigurationSet);
# optional: without it (the operator's command line), SES counts nothing per set.
SES_CONFIGURATION_SET = "SES_CONFIGURATION_SET"
# Every variable template.yaml must give every function (tests/build checks it does).
REQUIRED_VARIABLES = (TABLE_NAME, PUBLIC_BASE_URL, SENDER_EMAIL, *SECRET_ID_VARIABLES)
# Lambda sets AWS_REGION in every function; a shell may set either.
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


class MissingSetting(RuntimeError):
    """Environment variables the code needs are not set (or are blank)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(names)
        listed = ", ".join(
            "AWS_REGION (or AWS_DEFAULT_REGION)" if name == "AWS_REGION" else name for name in self.names
        )
        super().__init__(
            f"missing environment variable{'s' if len(self.names) > 1 else ''}: {listed}. "
            "A deployed function gets them from template.yaml (Globals: Function: Environment; AWS_REGION "
            "from Lambda); locally, the local server sets them (devserver/environment.py), as do the "
            "tests and the bench."
        )


@dataclass(frozen=True)
class Settings:
    table_name: str
    public_base_url: str
    sender_email: str
    region: str
    session_lifetimes: SessionLifetimes
    invitation_lifetime: timedelta = timedelta(days=7)
    audit_retention: timedelta = timedelta(days=400)
    # Always-202 answers (forgot password, resend verification) take at least this long.
    quiet_answer_seconds: float = 0.3
    # Sudo mode: how recently a factor must have been proven for a sensitive action.
    sudo_mode_window: timedelta = SUDO_MODE_WINDOW
    # The Secrets Manager ids that were set, as (variable, id); read through the properties.
    secret_ids: tuple[tuple[str, str], ...] = ()
    # The edge's secret (EDGE_ORIGIN_SECRET); empty: no edge, the source IP is the client.
    # Out of the repr, so that printing the settings does not print it.
    edge_origin_secret: str = field(default="", repr=False)
    # SES_CONFIGURATION_SET; empty: emails go out without a configuration set.
    ses_configuration_set: str = ""

    @property
    def signing_key_secret_id(self) -> str:
        return self._secret_id(SIGNING_KEY_SECRET_ID)

    @property
    def totp_key_secret_id(self) -> str:
        return self._secret_id(TOTP_KEY_SECRET_ID)

    @property
    def idempotency_key_secret_id(self) -> str:
        return self._secret_id(IDEMPOTENCY_KEY_SECRET_ID)

    def _secret_id(self, variable: str) -> str:
        value = dict(self.secret_ids).get(variable)
        if value is None:
            raise MissingSetting([variable])
        return value


def _set(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value and value.strip() else None


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The settings `environ` gives; MissingSetting names every required variable it lacks."""
    missing = [name for name in (TABLE_NAME, PUBLIC_BASE_URL, SENDER_EMAIL) if _set(environ, name) is None]
    region = next((value for name in REGION_VARIABLES if (value := _set(environ, name))), None)
    if region is None or missing:
        raise MissingSetting(missing if region is not None else [*missing, "AWS_REGION"])

    def tunable(name: str, default: str) -> float:
        return float(environ.get(name, default))

    return Settings(
        table_name=environ[TABLE_NAME],
        public_base_url=environ[PUBLIC_BASE_URL],
        sender_email=environ[SENDER_EMAIL],
        region=region,
        session_lifetimes=SessionLifetimes(
            absolute=timedelta(days=tunable("SESSION_ABSOLUTE_DAYS", "30")),
            idle=timedelta(days=tunable("SESSION_IDLE_DAYS", "7")),
        ),
        invitation_lifetime=timedelta(days=tunable("INVITATION_DAYS", "7")),
        audit_retention=timedelta(days=tunable("AUDIT_RETENTION_DAYS", "400")),
        quiet_answer_seconds=tunable("QUIET_ANSWER_SECONDS", "0.3"),
        sudo_mode_window=timedelta(minutes=tunable("SUDO_MODE_MINUTES", "10")),
        secret_ids=tuple(
            (name, value)
            for name in (*SECRET_ID_VARIABLES, IDEMPOTENCY_KEY_SECRET_ID)
            if (value := _set(environ, name))
        ),
        edge_origin_secret=(_set(environ, EDGE_ORIGIN_SECRET) or "").strip(),
        ses_configuration_set=(_set(environ, SES_CONFIGURATION_SET) or "").strip(),
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return read_settings(os.environ)


# --- sign-in with GitHub, Google and GitLab (the OAuth function only) -----------------

OAUTH_REDIRECT_ALLOWLIST = "OAUTH_REDIRECT_ALLOWLIST"
PROVIDER_DEFAULTS: dict[str, dict[str, str]] = {
    # OpenID Connect: the issuer, whose /.well-known/openid-configuration names the
    # authorize, token and JWKS endpoints. GitLab's issuer is its base URL (self-managed
    # instances set GITLAB_BASE_URL).
    "google": {"ISSUER": "https://accounts.google.com"},
    "gitlab": {"ISSUER": "https://gitlab.com"},
    # Plain OAuth 2.0: its endpoints, and the REST API that answers /user and /user/emails.
    "github": {
        "AUTHORIZE_URL": "https://github.com/login/oauth/authorize",
        "TOKEN_URL": "https://github.com/login/oauth/access_token",
        "API_URL": "https://api.github.com",
    },
}


@dataclass(frozen=True)
class ProviderSettings:
    """One provider the platform configured: `<PROVIDER>_CLIENT_ID` and
    `<PROVIDER>_CLIENT_SECRET_ID` (the Secrets Manager id of the client secret) are set."""

    provider: str
    client_id: str
    client_secret_id: str
    # OpenID Connect providers (google, gitlab).
    issuer: str | None = None
    # GitHub.
    authorize_url: str | None = None
    token_url: str | None = None
    api_url: str | None = None
    # The public provider's endpoints (not a self-managed GitLab, GitHub Enterprise, or a
    # local stand-in): its user ids need no qualifying issuer.
    public: bool = True
    # Whether its "this address is verified" links or creates accounts by email: by
    # default only the public providers'. A self-managed instance's admins can mark any
    # address verified, so `<PROVIDER>_TRUST_EMAIL=true` is the operator's explicit call.
    trust_email: bool = True


@dataclass(frozen=True)
class OAuthSettings:
    # The exact URLs a flow may return to (no prefix or wildcard matching).
    redirect_allow_list: tuple[str, ...]
    providers: tuple[ProviderSettings, ...]


def read_oauth_settings(environ: Mapping[str, str]) -> OAuthSettings:
    """A provider is on only when both its client id and its secret id are set; its
    endpoints default to the public provider's (`PROVIDER_DEFAULTS`), each overridable by
    `<PROVIDER>_<NAME>` (GitLab's issuer also by GITLAB_BASE_URL)."""
    allow_list = tuple(dict.fromkeys((environ.get(OAUTH_REDIRECT_ALLOWLIST) or "").split()))
    providers: list[ProviderSettings] = []
    for provider, defaults in PROVIDER_DEFAULTS.items():
        prefix = provider.upper()
        client_id = _set(environ, f"{prefix}_CLIENT_ID")
        secret_id = _set(environ, f"{prefix}_CLIENT_SECRET_ID")
        if client_id is None or secret_id is None:
            continue
        endpoints = {name: _set(environ, f"{prefix}_{name}") or default for name, default in defaults.items()}
        if provider == "gitlab" and (base := _set(environ, "GITLAB_BASE_URL")):
            endpoints["ISSUER"] = base.rstrip("/")
        public = all(endpoints[name].rstrip("/") == default.rstrip("/") for name, default in defaults.items())
        trust = (_set(environ, f"{prefix}_TRUST_EMAIL") or ("true" if public else "false")).strip().lower()
        providers.append(
            ProviderSettings(
                provider=provider,
                client_id=client_id.strip(),
                client_secret_id=secret_id.strip(),
                issuer=endpoints.get("ISSUER"),
                authorize_url=endpoints.get("AUTHORIZE_URL"),
                token_url=endpoints.get("TOKEN_URL"),
                api_url=endpoints.get("API_URL"),
                public=public,
                trust_email=trust == "true",
            )
        )
    return OAuthSettings(redirect_allow_list=allow_list, providers=tuple(providers))


@lru_cache(maxsize=1)
def oauth_settings() -> OAuthSettings:
    return read_oauth_settings(os.environ)
