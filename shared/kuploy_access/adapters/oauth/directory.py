"""The providers the platform configured (config.OAuthSettings), each with its client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from kuploy_access.adapters.oauth.calls import TIMEOUT_SECONDS
from kuploy_access.adapters.oauth.client_secret import client_secret
from kuploy_access.adapters.oauth.github import GitHubClient
from kuploy_access.adapters.oauth.oidc import ISSUER_ALIASES, OidcClient
from kuploy_access.config import OAuthSettings, ProviderSettings, oauth_settings
from kuploy_access.domain.identities import FlowSecrets, Provider, ProviderAccount, provider_named, provider_subject
from kuploy_access.services.ports.identities import ProviderClient


def _client_of(entry: ProviderSettings, read_secret: Callable[[str], str], timeout: float) -> ProviderClient:
    provider = provider_named(entry.provider)
    secret = partial(read_secret, entry.client_secret_id)
    if provider is Provider.GITHUB:
        if entry.authorize_url is None or entry.token_url is None or entry.api_url is None:
            raise ValueError("GitHub is configured without its endpoints")
        return GitHubClient(
            entry.client_id,
            secret,
            authorize_url=entry.authorize_url,
            token_url=entry.token_url,
            api_url=entry.api_url,
            timeout=timeout,
        )
    if provider is None or entry.issuer is None:
        raise ValueError(f"{entry.provider} is not an OpenID Connect provider this code knows")
    issuer = entry.issuer.rstrip("/")
    return OidcClient(
        provider, issuer, entry.client_id, secret, issuer_aliases=ISSUER_ALIASES.get(issuer, ()), timeout=timeout
    )


class ConfiguredClient:
    """A provider's client as the platform configured it: user ids qualified by a
    self-managed issuer (`provider_subject`), and the provider's "verified" believed only
    where the operator trusts it (config.ProviderSettings.trust_email)."""

    def __init__(self, client: ProviderClient, issuer: str | None, trust_email: bool) -> None:
        self.provider = client.provider
        self.client = client
        self.issuer = issuer
        self.trust_email = trust_email

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        return self.client.authorize_url(state, secrets, redirect_uri)

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        account = self.client.fetch_account(code, secrets, redirect_uri)
        return replace(
            account,
            subject=provider_subject(account.subject, self.issuer),
            email_verified=account.email_verified and self.trust_email,
        )


def _configured(entry: ProviderSettings, read_secret: Callable[[str], str], timeout: float) -> ProviderClient:
    issuer = None if entry.public else (entry.issuer or entry.api_url)
    return ConfiguredClient(_client_of(entry, read_secret, timeout), issuer, entry.trust_email)


class OAuthProviderDirectory:
    """Keep one per container: each client caches its provider's discovery document
    and keys. `read_secret` answers a client secret from its Secrets Manager id, when a
    code is redeemed (never at start)."""

    def __init__(
        self,
        settings: OAuthSettings,
        read_secret: Callable[[str], str] = client_secret,
        *,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        clients = (_configured(entry, read_secret, timeout) for entry in settings.providers)
        self._clients: dict[Provider, ProviderClient] = {client.provider: client for client in clients}

    def configured(self) -> list[Provider]:
        return [provider for provider in Provider if provider in self._clients]

    def client(self, provider: Provider) -> ProviderClient | None:
        return self._clients.get(provider)


def provider_directory() -> OAuthProviderDirectory:
    """The directory of this container's settings (config.oauth_settings)."""
    return OAuthProviderDirectory(oauth_settings())
