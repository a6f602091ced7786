"""The provider clients' pure parts: GitHub's choice of address, the authorization
request, the discovery document's checks, the directory, and failures that never carry
what was sent. Over HTTP: tests/integration/test_oauth_providers.py."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from devserver.local_providers import s256
from kuploy_access.adapters.oauth import OAuthProviderDirectory
from kuploy_access.adapters.oauth.calls import guarded, provider_email
from kuploy_access.adapters.oauth.directory import ConfiguredClient
from kuploy_access.adapters.oauth.github import GitHubClient, github_email
from kuploy_access.adapters.oauth.oidc import OidcClient, discovery_of
from kuploy_access.config import read_oauth_settings
from kuploy_access.domain.identities import FlowError, FlowSecrets, Provider, ProviderAccount, flow_secrets
from kuploy_access.services.ports.identities import ProviderFailed

ROOT = Path(__file__).resolve().parents[2]
SECRETS = flow_secrets("a-state", "a-browser-secret")
REDIRECT = "https://access.test/auth/oauth/github/callback"


# --- GitHub's address ------------------------------------------------------------------


def test_github_takes_the_primary_address_when_github_verified_it() -> None:
    entries = [
        {"email": "work@example.com", "primary": False, "verified": True},
        {"email": "Ada@Example.COM", "primary": True, "verified": True},
    ]
    assert github_email(entries) == ("ada@example.com", True)


def test_an_unverified_primary_address_is_answered_unverified() -> None:
    entries = [
        {"email": "verified-but-secondary@example.com", "primary": False, "verified": True},
        {"email": "ada@example.com", "primary": True, "verified": False},
    ]
    assert github_email(entries) == ("ada@example.com", False)


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [{"email": "secondary@example.com", "primary": False, "verified": True}],
        # `primary` must be the JSON true, not something truthy.
        [{"email": "ada@example.com", "primary": "true", "verified": True}],
        ["ada@example.com"],
    ],
)
def test_no_primary_address_means_no_address(entries: list[object]) -> None:
    assert github_email(entries) == (None, False)


def test_a_primary_address_that_does_not_parse_is_no_address() -> None:
    assert github_email([{"email": "not an address", "primary": True, "verified": True}]) == (None, False)


def test_emails_that_are_not_a_list_fail() -> None:
    with pytest.raises(ProviderFailed, match="/user/emails"):
        github_email({"email": "ada@example.com"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ada@Example.COM", "ada@example.com"), ("nope", None), (None, None), (42, None), ("a@localhost", None)],
)
def test_provider_email(raw: object, expected: str | None) -> None:
    assert provider_email(raw) == expected


# --- the authorization request ---------------------------------------------------------


def test_github_authorization_request_has_pkce_s256_and_the_scopes() -> None:
    client = GitHubClient(
        "the-client",
        lambda: pytest.fail("no secret is read to build the authorization request"),
        authorize_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        api_url="https://api.github.com",
    )
    url = urlsplit(client.authorize_url("a-state", SECRETS, REDIRECT))
    assert (url.scheme, url.netloc, url.path) == ("https", "github.com", "/login/oauth/authorize")
    assert parse_qs(url.query) == {
        "response_type": ["code"],
        "client_id": ["the-client"],
        "redirect_uri": [REDIRECT],
        "scope": ["read:user user:email"],
        "state": ["a-state"],
        "code_challenge": [s256(SECRETS.code_verifier)],
        "code_challenge_method": ["S256"],
    }


# --- the discovery document ------------------------------------------------------------

ISSUER = "https://idp.example.com"
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/authorize",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
    "userinfo_endpoint": f"{ISSUER}/userinfo",
    "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
}


def test_discovery_accepts_rs256_only_unless_es256_is_offered() -> None:
    assert discovery_of(DOCUMENT, ISSUER).algorithms == ("RS256",)
    offered = {**DOCUMENT, "id_token_signing_alg_values_supported": ["ES256", "RS256"]}
    assert discovery_of(offered, ISSUER).algorithms == ("RS256", "ES256")


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"issuer": "https://evil.example.com"}, "another issuer"),
        ({"issuer": f"{ISSUER}/"}, "another issuer"),
        ({"token_endpoint": "http://idp.example.com/token"}, "token_endpoint is not an HTTPS URL"),
        ({"jwks_uri": None}, "missing"),
        ({"authorization_endpoint": ["https://idp.example.com/authorize"]}, "authorization_endpoint"),
        ({"userinfo_endpoint": "ftp://idp.example.com/userinfo"}, "userinfo_endpoint"),
    ],
)
def test_discovery_refuses(change: dict[str, object], detail: str) -> None:
    with pytest.raises(ProviderFailed, match=detail):
        discovery_of({**DOCUMENT, **change}, ISSUER)


# --- the directory ---------------------------------------------------------------------

ENVIRONMENT = {
    "GOOGLE_CLIENT_ID": "google-client",
    "GOOGLE_CLIENT_SECRET_ID": "google-secret-id",
    "GITHUB_CLIENT_ID": "github-client",
    "GITHUB_CLIENT_SECRET_ID": "github-secret-id",
    "GITLAB_CLIENT_ID": "gitlab-client",  # no secret id: off
}


def test_the_directory_has_the_configured_providers_in_provider_order() -> None:
    directory = OAuthProviderDirectory(read_oauth_settings(ENVIRONMENT), lambda _: pytest.fail("read at start"))
    assert directory.configured() == [Provider.GITHUB, Provider.GOOGLE]
    assert directory.client(Provider.GITLAB) is None
    configured = directory.client(Provider.GOOGLE)
    assert isinstance(configured, ConfiguredClient)
    assert (configured.issuer, configured.trust_email) == (None, True)  # the public provider
    google = configured.client
    assert isinstance(google, OidcClient)
    assert (google.provider, google.issuer, google.client_id) == (
        Provider.GOOGLE,
        "https://accounts.google.com",
        "google-client",
    )
    github = unwrapped(directory.client(Provider.GITHUB))
    assert isinstance(github, GitHubClient)
    assert github.provider is Provider.GITHUB


def test_a_self_managed_gitlab_is_its_base_url() -> None:
    environment = {**ENVIRONMENT, "GITLAB_CLIENT_SECRET_ID": "gitlab-secret-id"}
    environment["GITLAB_BASE_URL"] = "https://gitlab.example.com/"
    configured = OAuthProviderDirectory(read_oauth_settings(environment)).client(Provider.GITLAB)
    gitlab = unwrapped(configured)
    assert isinstance(gitlab, OidcClient)
    assert gitlab.issuer == "https://gitlab.example.com"
    # Its user ids are its own, and its "verified" creates or links nothing by default.
    assert isinstance(configured, ConfiguredClient)
    assert (configured.issuer, configured.trust_email) == ("https://gitlab.example.com", False)
    trusted = OAuthProviderDirectory(read_oauth_settings({**environment, "GITLAB_TRUST_EMAIL": "true"}))
    assert unwrapped_settings(trusted.client(Provider.GITLAB)) == ("https://gitlab.example.com", True)


def unwrapped(client: object) -> object:
    assert isinstance(client, ConfiguredClient)
    return client.client


def unwrapped_settings(client: object) -> tuple[str | None, bool]:
    assert isinstance(client, ConfiguredClient)
    return client.issuer, client.trust_email


@dataclass
class _Answering:
    provider: Provider
    account: ProviderAccount

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        return "https://provider.test/authorize"

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        return self.account


def test_a_self_managed_providers_ids_are_qualified_and_its_verified_believed_only_when_trusted() -> None:
    said = ProviderAccount(Provider.GITLAB, "123", "ada@example.com", True, "Ada")
    secrets = FlowSecrets("v" * 43, "n")
    public = ConfiguredClient(_Answering(Provider.GITLAB, said), None, True)
    assert public.fetch_account("c", secrets, "r") == said
    own = ConfiguredClient(_Answering(Provider.GITLAB, said), "https://gitlab.example.com", False)
    answered = own.fetch_account("c", secrets, "r")
    assert answered.subject == "123@https://gitlab.example.com" != said.subject
    assert answered.email_verified is False
    trusted = ConfiguredClient(_Answering(Provider.GITLAB, said), "https://gitlab.example.com", True)
    assert trusted.fetch_account("c", secrets, "r").email_verified is True


# --- failures --------------------------------------------------------------------------


def test_a_failure_names_its_step_and_kind_but_never_its_message() -> None:
    with pytest.raises(ProviderFailed) as raised, guarded("/user"):
        raise ValueError("Invalid header value: 'Bearer gho_the_access_token'")
    assert raised.value.error is FlowError.PROVIDER_ERROR
    assert raised.value.detail == "/user: ValueError"
    assert "gho_" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_only_the_oauth_adapters_import_the_oauth_libraries() -> None:
    """Authlib, joserfc and requests load in the OAuth function only."""
    heavy = {"authlib", "joserfc", "requests"}
    package = ROOT / "shared" / "kuploy_access"
    offenders = []
    for path in package.rglob("*.py"):
        if path.is_relative_to(package / "adapters" / "oauth"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in heavy]
    assert offenders == []
