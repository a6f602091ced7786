"""GitHub: plain OAuth 2.0 with PKCE (S256); who signed in comes from /user and
/user/emails.

GitHub's token endpoint answers its errors (a bad code, a verifier that does not match)
with HTTP 200 and an `error` field; Authlib raises on that field, whatever the status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from kuploy_access.adapters.oauth.calls import (
    TIMEOUT_SECONDS,
    TokenRequest,
    failed,
    get_json,
    provider_email,
    redeem_code,
)
from kuploy_access.domain.identities import FlowSecrets, Provider, ProviderAccount

SCOPE = "read:user user:email"
API_MEDIA_TYPE = "application/vnd.github+json"
# GitHub documents the client's credentials as form parameters of the token request.
CLIENT_AUTH_METHOD = "client_secret_post"


def github_email(entries: object) -> tuple[str | None, bool]:
    """The address /user/emails marks primary, and whether GitHub verified it. GitHub
    has one primary address; the others (verified or not) never decide anything."""
    if not isinstance(entries, list):
        raise failed("/user/emails: the answer is not a list")
    primary = next((entry for entry in entries if isinstance(entry, dict) and entry.get("primary") is True), None)
    if primary is None:
        return None, False
    email = provider_email(primary.get("email"))
    return email, email is not None and primary.get("verified") is True


def _user_id(user: dict[str, Any]) -> str:
    value = user.get("id")
    # bool is an int to Python; GitHub's ids are positive integers.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise failed("/user: no numeric id")
    return str(value)


class GitHubClient:
    def __init__(
        self,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        authorize_url: str,
        token_url: str,
        api_url: str,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.provider = Provider.GITHUB
        self.client_id = client_id
        self._client_secret = client_secret
        self._authorize_endpoint = authorize_url
        self._token_endpoint = token_url
        self._api = api_url.rstrip("/")
        self._timeout = timeout
        self._http = requests.Session()

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        with OAuth2Session(
            client_id=self.client_id, scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256"
        ) as session:
            url, _ = session.create_authorization_url(
                self._authorize_endpoint, state=state, code_verifier=secrets.code_verifier
            )
        return str(url)

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        access_token = self._redeem(code, secrets, redirect_uri)
        user = self._api_get("/user", access_token)
        if not isinstance(user, dict):
            raise failed("/user: the answer is not a JSON object")
        subject = _user_id(user)
        email, verified = github_email(self._api_get("/user/emails", access_token))
        name = user.get("name") or user.get("login")
        return ProviderAccount(
            provider=self.provider,
            subject=subject,
            email=email,
            email_verified=verified,
            name=name if isinstance(name, str) else "",
        )

    def _redeem(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        request = TokenRequest(
            self.client_id, self._client_secret, self._token_endpoint, self._timeout, CLIENT_AUTH_METHOD
        )
        token = redeem_code(request, code, secrets.code_verifier, redirect_uri)
        access_token = token.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise failed("token endpoint: no access token")
        return access_token

    def _api_get(self, path: str, access_token: str) -> Any:
        return get_json(
            self._http,
            f"{self._api}{path}",
            path,
            timeout=self._timeout,
            access_token=access_token,
            accept=API_MEDIA_TYPE,
        )
