"""The providers the platform configured (config.OAuthSettings), each with its client."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from kuploy_access.adapters.oauth.calls import TIMEOUT_SECONDS
from kuploy_access.adapters.oauth.client_secret import client_secret
from kuploy_access.adapters.oauth.github import GitHubClient
from kuploy_access.adapters.oauth.oidc import ISSUER_ALIASES, OidcClient
from kuploy_access.config import OAuthSettings, ProviderSettings, oauth_settings
from kuploy_access.domain.identities import Provider, provider_named
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
        clients = (_client_of(entry, read_secret, timeout) for entry in settings.providers)
        self._clients: dict[Provider, ProviderClient] = {client.provider: client for client in clients}

    def configured(self) -> list[Provider]:
        return [provider for provider in Provider if provider in self._clients]

    def client(self, provider: Provider) -> ProviderClient | None:
        return self._clients.get(provider)


def provider_directory() -> OAuthProviderDirectory:
    """The directory of this container's settings (config.oauth_settings)."""
    return OAuthProviderDirectory(oauth_settings())
