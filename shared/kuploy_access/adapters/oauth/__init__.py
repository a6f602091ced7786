"""Sign-in with GitHub, Google and GitLab: the clients that talk to the providers.

Only the OAuth function imports this package (Authlib, joserfc and requests load with
it, and nowhere else). `provider_directory()` builds the ProviderDirectory
(services/ports/identities.py) from the environment; `forget_client_secrets()` drops
the cached client secrets (tests that start a fresh moto account)."""

from kuploy_access.adapters.oauth.client_secret import client_secret, forget_client_secrets
from kuploy_access.adapters.oauth.directory import OAuthProviderDirectory, provider_directory

__all__ = ["OAuthProviderDirectory", "client_secret", "forget_client_secrets", "provider_directory"]
