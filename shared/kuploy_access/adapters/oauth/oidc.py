"""Google and GitLab: OpenID Connect's code flow with PKCE (S256) and a nonce.

Who signed in comes from the ID token, verified by joserfc: its signature against the
provider's JWKS (RS256, or ES256 when the provider offers it; never `none` or an HMAC,
which would let anyone who knows the public key sign), `iss`, `aud` (and `azp`), `exp`,
`iat` and the nonce of this flow. The discovery document and the JWKS are fetched once
per client (the wiring keeps one per container); the JWKS again when a token names a
key it lacks, as providers rotate their keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import is_secure_transport
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from kuploy_access.adapters.oauth.calls import (
    TIMEOUT_SECONDS,
    TokenRequest,
    failed,
    get_json,
    guarded,
    provider_email,
    redeem_code,
)
from kuploy_access.domain.identities import FlowSecrets, Provider, ProviderAccount

SCOPE = "openid email profile"
# Seconds of clock skew allowed on `exp` and `iat`.
LEEWAY_SECONDS = 30
# Google documents both spellings of its issuer in ID tokens' `iss`.
ISSUER_ALIASES = {"https://accounts.google.com": ("accounts.google.com",)}


@dataclass(frozen=True)
class Discovery:
    """The parts of a provider's discovery document this client uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    # The ID token algorithms accepted: RS256 (every provider must offer it), and
    # ES256 when the provider says it signs with it.
    algorithms: tuple[str, ...]


def discovery_of(document: dict[str, Any], issuer: str) -> Discovery:
    """Raises ProviderFailed unless the document is the configured issuer's, with
    endpoints over HTTPS (or loopback HTTP, for the local providers)."""
    if document.get("issuer") != issuer:
        raise failed("discovery: the document names another issuer")

    def endpoint(name: str) -> str | None:
        value = document.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not is_secure_transport(value):
            raise failed(f"discovery: {name} is not an HTTPS URL")
        return value

    authorization, token, jwks = (endpoint(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"))
    if authorization is None or token is None or jwks is None:
        raise failed("discovery: an endpoint is missing")
    offered = document.get("id_token_signing_alg_values_supported")
    es256 = isinstance(offered, list) and "ES256" in offered
    return Discovery(
        authorization_endpoint=authorization,
        token_endpoint=token,
        jwks_uri=jwks,
        userinfo_endpoint=endpoint("userinfo_endpoint"),
        algorithms=("RS256", "ES256") if es256 else ("RS256",),
    )


class OidcClient:
    def __init__(
        self,
        provider: Provider,
        issuer: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        issuer_aliases: tuple[str, ...] = (),
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        """`issuer_aliases`: other values of `iss` the provider's ID tokens may carry
        (ISSUER_ALIASES); the discovery document must name `issuer` itself."""
        self.provider = provider
        self.issuer = issuer
        self._issuers = [issuer, *issuer_aliases]
        self.client_id = client_id
        self._client_secret = client_secret
        self._timeout = timeout
        self._http = requests.Session()
        self._lock = threading.Lock()
        self._discovery: Discovery | None = None
        self._keys: KeySet | None = None

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        discovery = self._discovered()
        with OAuth2Session(
            client_id=self.client_id, scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256"
        ) as session:
            url, _ = session.create_authorization_url(
                discovery.authorization_endpoint, state=state, code_verifier=secrets.code_verifier, nonce=secrets.nonce
            )
        return str(url)

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        discovery = self._discovered()
        tokens = self._redeem(code, secrets, redirect_uri, discovery)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise failed("token endpoint: no ID token")
        claims = self._verified_claims(id_token, secrets.nonce, discovery)

        raw_email: object = claims.get("email")
        verified = claims.get("email_verified") is True
        access_token = tokens.get("access_token")
        if "email_verified" not in claims and discovery.userinfo_endpoint and isinstance(access_token, str):
            # GitLab may leave email_verified out of the ID token; its userinfo has it.
            raw_email, verified = self._userinfo_email(discovery.userinfo_endpoint, access_token, claims)

        email = provider_email(raw_email)
        name = claims.get("name")
        return ProviderAccount(
            provider=self.provider,
            subject=claims["sub"],
            email=email,
            email_verified=verified and email is not None,
            name=name if isinstance(name, str) else "",
        )

    def _discovered(self) -> Discovery:
        with self._lock:
            if self._discovery is None:
                step = "discovery"
                document = get_json(
                    self._http, f"{self.issuer}/.well-known/openid-configuration", step, timeout=self._timeout
                )
                if not isinstance(document, dict):
                    raise failed(f"{step}: the answer is not a JSON object")
                self._discovery = discovery_of(document, self.issuer)
            return self._discovery

    def _key_set(self, discovery: Discovery, *, refresh: bool) -> KeySet:
        with self._lock:
            if self._keys is None or refresh:
                document = get_json(self._http, discovery.jwks_uri, "JWKS", timeout=self._timeout)
                with guarded("JWKS"):
                    self._keys = KeySet.import_key_set(document)
            return self._keys

    def _redeem(self, code: str, secrets: FlowSecrets, redirect_uri: str, discovery: Discovery) -> dict[str, Any]:
        request = TokenRequest(self.client_id, self._client_secret, discovery.token_endpoint, self._timeout)
        return redeem_code(request, code, secrets.code_verifier, redirect_uri)

    def _verified_claims(self, id_token: str, nonce: str, discovery: Discovery) -> dict[str, Any]:
        algorithms = list(discovery.algorithms)
        with guarded("ID token"):
            try:
                token = jwt.decode(id_token, self._key_set(discovery, refresh=False), algorithms=algorithms)
            except InvalidKeyIdError:
                # A key newer than our copy of the JWKS: the provider rotated its keys.
                token = jwt.decode(id_token, self._key_set(discovery, refresh=True), algorithms=algorithms)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "values": self._issuers},
                sub={"essential": True},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        claims = token.claims
        audience, party = claims["aud"], claims.get("azp")
        # OpenID Connect Core §3.1.3.7: a token for several audiences names the one it
        # was issued to (azp), and that must be us.
        if isinstance(audience, list) and len(audience) > 1 and party is None:
            raise failed("ID token: several audiences and no azp")
        if party is not None and party != self.client_id:
            raise failed("ID token: issued to another client (azp)")
        return claims

    def _userinfo_email(self, endpoint: str, access_token: str, claims: dict[str, Any]) -> tuple[object, bool]:
        """The address and whether it is verified, as the userinfo endpoint says."""
        info = get_json(self._http, endpoint, "userinfo", timeout=self._timeout, access_token=access_token)
        # OpenID Connect Core §5.3.2: a userinfo answer about someone else is ignored.
        if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
            raise failed("userinfo: the answer is about another subject")
        email = claims["email"] if "email" in claims else info.get("email")
        return email, info.get("email_verified") is True and info.get("email") == email
