"""The provider clients over HTTP.

(a) Against the local stand-ins (devserver/local_providers.py): a person signs in on
    the real authorize form, the callback's code is redeemed, the account read. PKCE is
    enforced there, so a wrong verifier fails; codes are single use.
(b) Against a hostile provider (pytest-httpserver) that answers whatever the test
    scripts: ID tokens minted here with joserfc that must not verify, token endpoints
    that fail in every way, a discovery document of another issuer, a GitHub without a
    verified address. Each failure is ProviderFailed(PROVIDER_ERROR) and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from devserver.local_providers import (
    GitHubEmail,
    GitHubUser,
    LocalProviders,
    approve_github,
    approve_oidc,
    deny,
    put_github_user,
    put_oidc_user,
    start_local_providers,
)
from kuploy_access.adapters.oauth import OAuthProviderDirectory
from kuploy_access.adapters.oauth.directory import ConfiguredClient
from kuploy_access.adapters.oauth.github import GitHubClient
from kuploy_access.adapters.oauth.oidc import OidcClient
from kuploy_access.config import read_oauth_settings
from kuploy_access.domain.identities import FlowError, FlowSecrets, Provider, ProviderAccount, flow_secrets
from kuploy_access.services.ports.identities import ProviderClient, ProviderFailed

# Authlib warns oidc-provider-mock (the local Google and GitLab) of its own deprecations.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

STATE = "a-state-of-enough-entropy"
SECRETS = flow_secrets(STATE, "the-browser-secret")
OIDC_PROVIDERS = (Provider.GOOGLE, Provider.GITLAB)


def redirect_uri(provider: Provider) -> str:
    return f"https://access.test/auth/oauth/{provider}/callback"


def callback_query(location: str, provider: Provider) -> dict[str, str]:
    """The query of the redirect back, which must be to our callback."""
    assert location.split("?")[0] == redirect_uri(provider)
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


# --- (a) the local providers -------------------------------------------------------------


@pytest.fixture(scope="module")
def local() -> Iterator[LocalProviders]:
    with start_local_providers() as providers:
        yield providers


@pytest.fixture
def directory(local: LocalProviders) -> OAuthProviderDirectory:
    return OAuthProviderDirectory(read_oauth_settings(local.environment), local.client_secrets.__getitem__)


def client_of(directory: OAuthProviderDirectory, provider: Provider) -> ProviderClient:
    """The provider's own client: these tests are about what providers answer; the
    directory's qualifying of ids (the stand-ins are not the public providers) has
    its own test below and in tests/unit/test_oauth_clients.py."""
    configured = directory.client(provider)
    assert isinstance(configured, ConfiguredClient)
    return configured.client


def test_the_directory_qualifies_a_stand_ins_ids_by_its_issuer(local, directory) -> None:
    put_oidc_user(local.gitlab, "qualified", email="q@example.com", email_verified=True)
    configured = directory.client(Provider.GITLAB)
    assert configured is not None
    account = configured.fetch_account(sign_in(configured, "qualified"), SECRETS, redirect_uri(Provider.GITLAB))
    assert account.subject == f"qualified@{local.gitlab}"
    assert account.email_verified  # the local environment trusts the stand-ins (GITLAB_TRUST_EMAIL)


def sign_in(client: ProviderClient, user: str, secrets: FlowSecrets = SECRETS) -> str:
    """The person signs in as `user` at the provider; answers the callback's code."""
    url = client.authorize_url(STATE, secrets, redirect_uri(client.provider))
    approve = approve_github if client.provider is Provider.GITHUB else approve_oidc
    query = callback_query(approve(url, user), client.provider)
    assert query["state"] == STATE
    return query["code"]


def issuer_of(local: LocalProviders, provider: Provider) -> str:
    return local.google if provider is Provider.GOOGLE else local.gitlab


def test_every_local_provider_is_configured(directory: OAuthProviderDirectory) -> None:
    assert directory.configured() == [Provider.GITHUB, Provider.GOOGLE, Provider.GITLAB]


@pytest.mark.parametrize("provider", OIDC_PROVIDERS)
@pytest.mark.parametrize("verified", [True, False])
def test_openid_connect_sign_in(local, directory, provider: Provider, verified: bool) -> None:
    sub = f"{provider}-{int(verified)}-subject"
    put_oidc_user(issuer_of(local, provider), sub, email="Ada@Example.COM", email_verified=verified, name="Ada")
    client = client_of(directory, provider)
    code = sign_in(client, sub)
    assert client.fetch_account(code, SECRETS, redirect_uri(provider)) == ProviderAccount(
        provider=provider, subject=sub, email="ada@example.com", email_verified=verified, name="Ada"
    )


@pytest.mark.parametrize("provider", OIDC_PROVIDERS)
def test_a_provider_that_says_nothing_of_verification_is_unverified(local, directory, provider) -> None:
    put_oidc_user(issuer_of(local, provider), "quiet", email="quiet@example.com")
    client = client_of(directory, provider)
    account = client.fetch_account(sign_in(client, "quiet"), SECRETS, redirect_uri(provider))
    assert (account.email, account.email_verified, account.name) == ("quiet@example.com", False, "")


def test_github_sign_in(local, directory) -> None:
    emails = (
        GitHubEmail("Octo@Example.COM", primary=True, verified=True),
        GitHubEmail("work@example.com", primary=False, verified=True),
    )
    put_github_user(local.github, GitHubUser(id=4242, login="octo", name=None, emails=emails))
    client = client_of(directory, Provider.GITHUB)
    account = client.fetch_account(sign_in(client, "octo"), SECRETS, redirect_uri(Provider.GITHUB))
    assert account == ProviderAccount(
        provider=Provider.GITHUB, subject="4242", email="octo@example.com", email_verified=True, name="octo"
    )


def test_github_with_an_unverified_primary_address(local, directory) -> None:
    emails = (
        GitHubEmail("new@example.com", primary=True, verified=False),
        GitHubEmail("old@example.com", primary=False, verified=True),
    )
    put_github_user(local.github, GitHubUser(id=77, login="newbie", name="New Bie", emails=emails))
    client = client_of(directory, Provider.GITHUB)
    account = client.fetch_account(sign_in(client, "newbie"), SECRETS, redirect_uri(Provider.GITHUB))
    assert (account.subject, account.email, account.email_verified, account.name) == (
        "77",
        "new@example.com",
        False,
        "New Bie",
    )


@pytest.mark.parametrize("provider", list(Provider))
def test_a_wrong_pkce_verifier_fails_and_spends_the_code(directory, provider: Provider) -> None:
    client = client_of(directory, provider)
    code = sign_in(client, "ada")
    # The nonce is right: only the verifier is wrong.
    intercepted = FlowSecrets(code_verifier=flow_secrets(STATE, "the-attacker").code_verifier, nonce=SECRETS.nonce)
    with pytest.raises(ProviderFailed) as raised:
        client.fetch_account(code, intercepted, redirect_uri(provider))
    assert raised.value.error is FlowError.PROVIDER_ERROR
    with pytest.raises(ProviderFailed):
        client.fetch_account(code, SECRETS, redirect_uri(provider))


@pytest.mark.parametrize("provider", list(Provider))
def test_a_code_is_redeemed_once(directory, provider: Provider) -> None:
    client = client_of(directory, provider)
    code = sign_in(client, "ada")
    assert client.fetch_account(code, SECRETS, redirect_uri(provider)).email == "ada@example.com"
    with pytest.raises(ProviderFailed, match="token endpoint"):
        client.fetch_account(code, SECRETS, redirect_uri(provider))


@pytest.mark.parametrize("provider", OIDC_PROVIDERS)
def test_an_id_token_of_another_flow_fails_on_its_nonce(directory, provider: Provider) -> None:
    client = client_of(directory, provider)
    code = sign_in(client, "ada")
    other_nonce = FlowSecrets(code_verifier=SECRETS.code_verifier, nonce=flow_secrets("other", "x").nonce)
    with pytest.raises(ProviderFailed, match="nonce"):
        client.fetch_account(code, other_nonce, redirect_uri(provider))


@pytest.mark.parametrize("provider", list(Provider))
def test_a_wrong_client_secret_fails(local, provider: Provider) -> None:
    directory = OAuthProviderDirectory(read_oauth_settings(local.environment), lambda _: "not-the-secret")
    client = client_of(directory, provider)
    with pytest.raises(ProviderFailed, match="token endpoint"):
        client.fetch_account(sign_in(client, "ada"), SECRETS, redirect_uri(provider))


@pytest.mark.parametrize("provider", list(Provider))
def test_denying_answers_access_denied(directory, provider: Provider) -> None:
    client = client_of(directory, provider)
    query = callback_query(deny(client.authorize_url(STATE, SECRETS, redirect_uri(provider))), provider)
    assert (query["error"], query["state"]) == ("access_denied", STATE)


@pytest.mark.parametrize("provider", list(Provider))
def test_the_local_providers_refuse_a_request_without_pkce(directory, provider: Provider) -> None:
    import requests

    url = client_of(directory, provider).authorize_url(STATE, SECRETS, redirect_uri(provider))
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qs(parts.query).items() if not k.startswith("code_challenge")}
    response = requests.get(url.split("?")[0], params=query, timeout=5, allow_redirects=False)
    assert response.status_code == 400
    assert "PKCE" in response.text


@pytest.mark.parametrize("provider", list(Provider))
def test_the_authorize_pages_list_the_users_a_person_can_pick(directory, provider: Provider) -> None:
    import requests

    url = client_of(directory, provider).authorize_url(STATE, SECRETS, redirect_uri(provider))
    page = requests.get(url, timeout=5)
    assert page.status_code == 200
    assert 'value="ada"' in page.text and 'value="grace"' in page.text
    assert 'value="deny"' in page.text


def test_the_fake_github_checks_the_redirect_uri_and_answers_as_github(local, directory) -> None:
    import requests

    client = client_of(directory, Provider.GITHUB)
    code = sign_in(client, "ada")
    form = {
        "client_id": local.environment["GITHUB_CLIENT_ID"],
        "client_secret": local.client_secrets[local.environment["GITHUB_CLIENT_SECRET_ID"]],
        "code": code,
        "redirect_uri": "https://evil.example.com/callback",
        "code_verifier": SECRETS.code_verifier,
    }
    answer = requests.post(local.environment["GITHUB_TOKEN_URL"], data=form, timeout=5)
    # HTTP 200 with an error, form-encoded unless JSON is asked for: as GitHub answers.
    assert (answer.status_code, parse_qs(answer.text)) == (200, {"error": ["redirect_uri_mismatch"]})
    malformed = requests.put(f"{local.github}/users/someone", json={"id": "not a number"}, timeout=5)
    assert malformed.status_code == 400


def test_the_client_secrets_come_from_secrets_manager(local, monkeypatch) -> None:
    """The production path: settings from the environment, secrets from Secrets Manager
    (moto), read once per container."""
    import boto3
    from moto import mock_aws

    from kuploy_access.adapters.oauth import client_secret, forget_client_secrets, provider_directory
    from kuploy_access.config import oauth_settings

    for name, value in local.environment.items():
        monkeypatch.setenv(name, value)
    oauth_settings.cache_clear()
    forget_client_secrets()
    try:
        with mock_aws():
            secretsmanager = boto3.client("secretsmanager")
            for secret_id, value in local.client_secrets.items():
                secretsmanager.create_secret(Name=secret_id, SecretString=value)
            directory = provider_directory()
            for provider in Provider:
                client = client_of(directory, provider)
                account = client.fetch_account(sign_in(client, "ada"), SECRETS, redirect_uri(provider))
                assert account.email == "ada@example.com"
            rotated_id = next(iter(local.client_secrets))
            secretsmanager.put_secret_value(SecretId=rotated_id, SecretString="rotated")
            assert client_secret(rotated_id) == local.client_secrets[rotated_id]
            forget_client_secrets()
            assert client_secret(rotated_id) == "rotated"
    finally:
        forget_client_secrets()
        oauth_settings.cache_clear()


# --- (b) a hostile OpenID Connect provider ---------------------------------------------

CLIENT_ID = "our-client"
CLIENT_SECRET = "our-secret"
TIMEOUT = 0.5


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class HostileOidc:
    """Discovery, JWKS, token and userinfo endpoints, each answering what the test sets."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.issuer = server.url_for("").rstrip("/")
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.discovery: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": server.url_for("/authorize"),
            "token_endpoint": server.url_for("/token"),
            "jwks_uri": server.url_for("/jwks"),
            "userinfo_endpoint": server.url_for("/userinfo"),
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "hostile-1",
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": SECRETS.nonce,
            "email": "mallory@example.com",
            "email_verified": True,
            "name": "Mallory",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(self, claims: dict[str, Any] | None = None, key: Any = None, header: dict[str, Any] | None = None) -> str:
        header = header or {"alg": "RS256", "kid": "k1"}
        return jwt.encode(header, claims or self.claims(), key or self.key, algorithms=[header["alg"]])

    def serve(
        self,
        id_token: str | None = None,
        *,
        jwks: Any = None,
        token_answer: Callable[[Request], Response] | None = None,
        userinfo: Any = None,
    ) -> None:
        self.server.expect_request("/.well-known/openid-configuration").respond_with_json(self.discovery)
        if callable(jwks):
            self.server.expect_request("/jwks").respond_with_handler(jwks)
        else:
            self.server.expect_request("/jwks").respond_with_json(jwks or KeySet([self.key]).as_dict(private=False))
        if token_answer is not None:
            self.server.expect_request("/token", method="POST").respond_with_handler(token_answer)
        else:
            tokens = {"access_token": "at-1", "token_type": "Bearer", "id_token": id_token or self.mint()}
            self.server.expect_request("/token", method="POST").respond_with_json(tokens)
        if userinfo is not None:
            self.server.expect_request("/userinfo").respond_with_json(userinfo)

    def client(self) -> OidcClient:
        return OidcClient(Provider.GOOGLE, self.issuer, CLIENT_ID, lambda: CLIENT_SECRET, timeout=TIMEOUT)

    def fetch(self) -> ProviderAccount:
        return self.client().fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE))

    def requests_to(self, path: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path == path]


@pytest.fixture
def hostile(httpserver_ipv4: HTTPServer) -> HostileOidc:
    return HostileOidc(httpserver_ipv4)


def test_the_hostile_provider_at_its_most_honest_is_believed(hostile: HostileOidc) -> None:
    """The harness itself: what the tests below change is what makes them fail."""
    hostile.serve()
    client = hostile.client()
    url = urlsplit(client.authorize_url(STATE, SECRETS, redirect_uri(Provider.GOOGLE)))
    assert f"{url.scheme}://{url.netloc}{url.path}" == hostile.discovery["authorization_endpoint"]
    query = parse_qs(url.query)
    assert query["nonce"] == [SECRETS.nonce]
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    account = client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE))
    assert account == ProviderAccount(Provider.GOOGLE, "hostile-1", "mallory@example.com", True, "Mallory")

    token_request = hostile.requests_to("/token")[0]
    assert token_request.form["code"] == "a-code"
    assert token_request.form["code_verifier"] == SECRETS.code_verifier
    assert token_request.form["redirect_uri"] == redirect_uri(Provider.GOOGLE)
    assert token_request.authorization is not None
    assert (token_request.authorization.username, token_request.authorization.password) == (CLIENT_ID, CLIENT_SECRET)
    # Discovery and keys are fetched once per client.
    client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE))
    assert len(hostile.requests_to("/.well-known/openid-configuration")) == 1
    assert len(hostile.requests_to("/jwks")) == 1


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"aud": "someone-else"}, "aud"),
        ({"aud": ["someone-else", "another"]}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": [CLIENT_ID, "another"]}, "several audiences"),
        ({"aud": [CLIENT_ID, "another"], "azp": "another"}, "azp"),
        ({"azp": "another"}, "azp"),
        ({"iss": "https://evil.example.com"}, "iss"),
        ({"iss": None}, "iss"),
        ({"nonce": "a-replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"exp": None}, "exp"),
        ({"exp": "tomorrow"}, "exp"),
        ({"iat": int(time.time()) + 3600}, "iat"),
        ({"iat": None}, "iat"),
        ({"sub": None}, "sub"),
        ({"sub": 12}, "sub"),
    ],
)
def test_claims_that_do_not_verify(hostile: HostileOidc, changes: dict[str, Any], detail: str) -> None:
    hostile.serve(hostile.mint(hostile.claims(**changes)))
    with pytest.raises(ProviderFailed, match=detail) as raised:
        hostile.fetch()
    assert raised.value.error is FlowError.PROVIDER_ERROR


def test_several_audiences_naming_us_as_the_authorized_party_verify(hostile: HostileOidc) -> None:
    hostile.serve(hostile.mint(hostile.claims(aud=[CLIENT_ID, "another"], azp=CLIENT_ID)))
    assert hostile.fetch().subject == "hostile-1"


def test_a_token_signed_by_another_key_under_a_known_kid(hostile: HostileOidc) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    hostile.serve(hostile.mint(key=impostor))
    with pytest.raises(ProviderFailed, match="bad_signature"):
        hostile.fetch()


def test_an_unknown_kid_refetches_the_keys_once_then_fails(hostile: HostileOidc) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    hostile.serve(hostile.mint(key=impostor, header={"alg": "RS256", "kid": "k2"}))
    with pytest.raises(ProviderFailed, match="kid"):
        hostile.fetch()
    assert len(hostile.requests_to("/jwks")) == 2


def test_a_rotated_key_is_found_by_refetching_the_keys(hostile: HostileOidc) -> None:
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    answers = iter([KeySet([hostile.key]), KeySet([hostile.key, rotated])])

    def jwks(_: Request) -> Response:
        return Response(json.dumps(next(answers).as_dict(private=False)), mimetype="application/json")

    hostile.serve(hostile.mint(key=rotated, header={"alg": "RS256", "kid": "k2"}), jwks=jwks)
    assert hostile.fetch().subject == "hostile-1"


def test_alg_none_is_refused(hostile: HostileOidc) -> None:
    header = b64url(json.dumps({"alg": "none", "kid": "k1"}).encode())
    payload = b64url(json.dumps(hostile.claims()).encode())
    hostile.serve(f"{header}.{payload}.")
    with pytest.raises(ProviderFailed, match="ID token"):
        hostile.fetch()


def test_hs256_keyed_with_the_public_key_is_refused(hostile: HostileOidc) -> None:
    """The classic confusion: an HMAC whose secret is the provider's public key."""
    public_pem = hostile.key.as_pem(private=False)
    header = b64url(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(hostile.claims()).encode())
    signature = b64url(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    hostile.serve(f"{header}.{payload}.{signature}")
    with pytest.raises(ProviderFailed, match="ID token"):
        hostile.fetch()


def test_an_algorithm_off_the_list_is_refused_even_with_a_good_signature(hostile: HostileOidc) -> None:
    hostile.serve(hostile.mint(header={"alg": "RS512", "kid": "k1"}))
    with pytest.raises(ProviderFailed, match="ID token"):
        hostile.fetch()


def test_es256_verifies_only_when_the_provider_offers_it(hostile: HostileOidc) -> None:
    ec_key = ECKey.generate_key("P-256", parameters={"kid": "ec1"}, private=True)
    token = hostile.mint(key=ec_key, header={"alg": "ES256", "kid": "ec1"})
    hostile.serve(token, jwks=KeySet([hostile.key, ec_key]).as_dict(private=False))
    with pytest.raises(ProviderFailed, match="ID token"):
        hostile.fetch()

    hostile.server.clear()
    hostile.discovery["id_token_signing_alg_values_supported"] = ["RS256", "ES256"]
    hostile.serve(token, jwks=KeySet([hostile.key, ec_key]).as_dict(private=False))
    assert hostile.fetch().subject == "hostile-1"


def test_an_issuer_alias_is_accepted_only_where_configured(hostile: HostileOidc) -> None:
    hostile.serve(hostile.mint(hostile.claims(iss="accounts.example.com")))
    with pytest.raises(ProviderFailed, match="iss"):
        hostile.fetch()
    aliased = OidcClient(
        Provider.GOOGLE, hostile.issuer, CLIENT_ID, lambda: CLIENT_SECRET, issuer_aliases=("accounts.example.com",)
    )
    assert aliased.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE)).subject == "hostile-1"


def _answer(status: int, body: str, content_type: str = "application/json") -> Callable[[Request], Response]:
    return lambda _: Response(body, status=status, content_type=content_type)


class Stalled:
    """An endpoint that answers nothing until released (the test server has one thread:
    releasing it, rather than sleeping, keeps it from stalling the next test)."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def __call__(self, _: Request) -> Response:
        self.released.wait(timeout=10)
        return Response("{}", content_type="application/json")


@pytest.fixture
def stalled() -> Iterator[Stalled]:
    endpoint = Stalled()
    yield endpoint
    endpoint.released.set()


@pytest.mark.parametrize(
    ("token_answer", "detail"),
    [
        (_answer(500, '{"error": "server_error"}'), "token endpoint: HTTP 500"),
        (_answer(502, "<html>Bad gateway</html>", "text/html"), "token endpoint: HTTP 502"),
        (_answer(400, '{"error": "invalid_grant"}'), "token endpoint: invalid_grant"),
        (_answer(200, '{"error": "invalid_grant"}'), "token endpoint: invalid_grant"),
        (_answer(200, "access_token=at&token_type=bearer", "application/x-www-form-urlencoded"), "token endpoint"),
        (_answer(200, '["a", "list"]'), "token endpoint"),
        (_answer(200, '{"access_token": "at", "token_type": "Bearer"}'), "no ID token"),
        (_answer(200, '{"access_token": "at", "token_type": "Bearer", "id_token": 42}'), "no ID token"),
        (_answer(200, '{"access_token": "at", "token_type": "Bearer", "id_token": "not.a.jwt"}'), "ID token"),
    ],
)
def test_token_endpoint_failures(hostile: HostileOidc, token_answer, detail: str) -> None:
    hostile.serve(token_answer=token_answer)
    with pytest.raises(ProviderFailed, match=detail) as raised:
        hostile.fetch()
    assert raised.value.error is FlowError.PROVIDER_ERROR


def test_a_token_endpoint_that_does_not_answer(hostile: HostileOidc, stalled: Stalled) -> None:
    hostile.serve(token_answer=stalled)
    started = time.monotonic()
    with pytest.raises(ProviderFailed, match="token endpoint: timed out"):
        hostile.fetch()
    assert time.monotonic() - started < TIMEOUT * 4


@pytest.mark.parametrize(
    "answer",
    [
        Response(json.dumps({"issuer": "https://evil.example.com"}), content_type="application/json"),
        Response("not found", status=404),
        Response("<html>", content_type="text/html"),
    ],
)
def test_a_discovery_document_that_is_not_the_issuers(hostile: HostileOidc, answer: Response) -> None:
    hostile.server.expect_request("/.well-known/openid-configuration").respond_with_response(answer)
    client = hostile.client()
    with pytest.raises(ProviderFailed, match="discovery"):
        client.authorize_url(STATE, SECRETS, redirect_uri(Provider.GOOGLE))
    with pytest.raises(ProviderFailed, match="discovery"):
        client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE))


def test_a_discovery_document_naming_another_issuer_is_refused(hostile: HostileOidc) -> None:
    hostile.discovery["issuer"] = "https://accounts.google.com"
    hostile.serve()
    with pytest.raises(ProviderFailed, match="another issuer"):
        hostile.fetch()


def test_keys_that_cannot_be_read(hostile: HostileOidc) -> None:
    hostile.serve(jwks={"keys": [{"kty": "RSA", "kid": "k1"}]})
    with pytest.raises(ProviderFailed, match="JWKS"):
        hostile.fetch()


def test_a_failed_discovery_is_tried_again(hostile: HostileOidc) -> None:
    hostile.server.expect_oneshot_request("/.well-known/openid-configuration").respond_with_data("down", 503)
    client = hostile.client()
    with pytest.raises(ProviderFailed, match="discovery: HTTP 503"):
        client.authorize_url(STATE, SECRETS, redirect_uri(Provider.GOOGLE))
    hostile.serve()
    assert client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE)).subject == "hostile-1"


def test_a_secret_that_cannot_be_read_fails_as_the_provider(hostile: HostileOidc) -> None:
    hostile.serve()

    def unreadable() -> str:
        raise RuntimeError("AccessDeniedException")

    client = OidcClient(Provider.GOOGLE, hostile.issuer, CLIENT_ID, unreadable, timeout=TIMEOUT)
    with pytest.raises(ProviderFailed, match="client secret"):
        client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GOOGLE))


# GitLab leaves email_verified out of the ID token when it sees fit; userinfo has it.


def test_without_email_verified_the_userinfo_decides(hostile: HostileOidc) -> None:
    claims = hostile.claims(email_verified=None)
    hostile.serve(
        hostile.mint(claims), userinfo={"sub": "hostile-1", "email": "mallory@example.com", "email_verified": True}
    )
    account = hostile.fetch()
    assert (account.email, account.email_verified) == ("mallory@example.com", True)
    assert hostile.requests_to("/userinfo")[0].headers["Authorization"] == "Bearer at-1"


@pytest.mark.parametrize(
    "userinfo",
    [
        {"sub": "hostile-1", "email": "mallory@example.com", "email_verified": False},
        {"sub": "hostile-1", "email": "mallory@example.com"},
        # Verified, but another address than the ID token's.
        {"sub": "hostile-1", "email": "someone-else@example.com", "email_verified": True},
    ],
)
def test_userinfo_that_does_not_verify_the_address(hostile: HostileOidc, userinfo: dict[str, Any]) -> None:
    hostile.serve(hostile.mint(hostile.claims(email_verified=None)), userinfo=userinfo)
    account = hostile.fetch()
    assert (account.email, account.email_verified) == ("mallory@example.com", False)


def test_userinfo_about_someone_else_fails(hostile: HostileOidc) -> None:
    userinfo = {"sub": "someone-else", "email": "mallory@example.com", "email_verified": True}
    hostile.serve(hostile.mint(hostile.claims(email_verified=None)), userinfo=userinfo)
    with pytest.raises(ProviderFailed, match="another subject"):
        hostile.fetch()


def test_userinfo_failing_fails(hostile: HostileOidc) -> None:
    hostile.serve(hostile.mint(hostile.claims(email_verified=None)))
    hostile.server.expect_request("/userinfo").respond_with_data("nope", 500)
    with pytest.raises(ProviderFailed, match="userinfo: HTTP 500"):
        hostile.fetch()


# --- (b) a hostile GitHub -----------------------------------------------------------------


class HostileGitHub:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server

    def serve(
        self,
        *,
        token: Any = None,
        user: Any = None,
        emails: Any = None,
    ) -> None:
        default_token = {"access_token": "gho_at", "token_type": "bearer", "scope": "read:user,user:email"}
        self.server.expect_request("/login/oauth/access_token", method="POST").respond_with_response(
            token if isinstance(token, Response) else Response(json.dumps(token or default_token))
        )
        for path, body in (("/user", user or {"id": 9, "login": "mallory", "name": None}), ("/user/emails", emails)):
            if body is None:
                body = [{"email": "mallory@example.com", "primary": True, "verified": True}]
            answer = body if isinstance(body, Response) else Response(json.dumps(body), content_type="application/json")
            self.server.expect_request(path, headers={"Authorization": "Bearer gho_at"}).respond_with_response(answer)

    def fetch(self) -> ProviderAccount:
        client = GitHubClient(
            "our-github-client",
            lambda: "our-github-secret",
            authorize_url=self.server.url_for("/login/oauth/authorize"),
            token_url=self.server.url_for("/login/oauth/access_token"),
            api_url=self.server.url_for(""),
            timeout=TIMEOUT,
        )
        return client.fetch_account("a-code", SECRETS, redirect_uri(Provider.GITHUB))


@pytest.fixture
def hostile_github(httpserver_ipv4: HTTPServer) -> HostileGitHub:
    return HostileGitHub(httpserver_ipv4)


def test_the_hostile_github_at_its_most_honest_is_believed(hostile_github: HostileGitHub) -> None:
    hostile_github.serve()
    assert hostile_github.fetch() == ProviderAccount(Provider.GITHUB, "9", "mallory@example.com", True, "mallory")
    token_request = hostile_github.server.log[0][0]
    assert token_request.form["client_id"] == "our-github-client"
    assert token_request.form["client_secret"] == "our-github-secret"
    assert token_request.form["code_verifier"] == SECRETS.code_verifier
    assert "json" in token_request.headers["Accept"]


@pytest.mark.parametrize(
    ("emails", "expected"),
    [
        ([{"email": "mallory@example.com", "primary": True, "verified": False}], ("mallory@example.com", False)),
        ([{"email": "other@example.com", "primary": False, "verified": True}], (None, False)),
        ([], (None, False)),
    ],
)
def test_github_without_a_verified_primary_address(hostile_github, emails, expected) -> None:
    hostile_github.serve(emails=emails)
    account = hostile_github.fetch()
    assert (account.email, account.email_verified) == expected


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        (
            {"token": {"error": "bad_verification_code", "error_description": "The code is wrong"}},
            "bad_verification_code",
        ),
        ({"token": Response("access_token=gho_at&token_type=bearer")}, "token endpoint"),
        ({"token": {"token_type": "bearer"}}, "no access token"),
        ({"user": Response("oops", status=500)}, "/user: HTTP 500"),
        ({"user": Response("<html>", status=200)}, "/user: the answer is not JSON"),
        ({"user": ["a", "list"]}, "/user: the answer is not a JSON object"),
        ({"user": {"login": "mallory"}}, "no numeric id"),
        ({"user": {"id": "9", "login": "mallory"}}, "no numeric id"),
        ({"user": {"id": True, "login": "mallory"}}, "no numeric id"),
        ({"emails": Response('{"message": "Not Found"}', status=404)}, "/user/emails: HTTP 404"),
        ({"emails": {"email": "mallory@example.com"}}, "/user/emails: the answer is not a list"),
    ],
)
def test_github_failures(hostile_github, changes: dict[str, Any], detail: str) -> None:
    hostile_github.serve(**changes)
    with pytest.raises(ProviderFailed, match=detail) as raised:
        hostile_github.fetch()
    assert raised.value.error is FlowError.PROVIDER_ERROR


def test_github_api_timing_out(hostile_github: HostileGitHub, stalled: Stalled) -> None:
    hostile_github.server.expect_request("/user").respond_with_handler(stalled)
    hostile_github.serve()
    with pytest.raises(ProviderFailed, match="/user: timed out"):
        hostile_github.fetch()
