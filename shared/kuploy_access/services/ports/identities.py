"""Sign-in with GitHub, Google and GitLab: linked identities, the flows in progress, the
login codes a callback hands to the browser, and the providers themselves.

DynamoIdentityStore, DynamoOAuthFlows and DynamoTokenRepository implement the stores
(FakeIdentities, FakeOAuthFlows and FakeLoginCodes are their fakes); adapters/oauth/
implements ProviderDirectory."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.identities import FlowError, FlowSecrets, Identity, OAuthFlow, Provider, ProviderAccount
from kuploy_access.domain.one_time_tokens import OneTimeToken
from kuploy_access.domain.users import User


class IdentityTaken(Exception):
    """This provider account is linked to an account already (perhaps another one)."""


class ProviderAlreadyLinked(Exception):
    """The account has another account of this provider linked."""


class AccountChanged(Exception):
    """The account is no longer as the caller read it: deleted, or verified meanwhile."""


class LastSignInMethodLeft(Exception):
    """Unlinking would leave the account with no password and no other identity."""


class NotLinked(Exception):
    """The account has no identity of this provider."""


class IdentityLookup(Protocol):  # AccountService (GET /me)
    """Raises nothing."""

    def identities_of(self, user_id: str) -> list[Identity]:
        """The account's identities, in provider order (github, gitlab, google)."""


class IdentityStore(IdentityLookup, Protocol):  # OAuthService
    """Each write is one transaction; the exceptions above name what refused it."""

    def find(self, provider: Provider, subject: str) -> Identity | None: ...

    def create_account(self, user: User, identity: Identity) -> None:
        """A new verified account with no password, its email guard, its look guard and its
        identity, at once. Raises EmailAlreadyRegistered (ports/users.py) when the address
        is taken, EmailTooSimilar when a verified look-alike holds the look, IdentityTaken
        when a racing sign-in linked this provider account first."""

    def link(self, identity: Identity) -> None:
        """Link to an existing account. Raises IdentityTaken, ProviderAlreadyLinked, and
        AccountChanged when the account does not exist."""

    def take_over(self, account: User, identity: Identity, name: str) -> None:
        """The provider proved the inbox of an unverified account: while it is still
        unverified, remove its password, its pending verification links (every hash in
        `account.pending_verification_hashes`) and its reset link, give it `name` (the
        provider's: whoever pre-registered chose the one it had), mark it verified, claim
        its look, and link the identity, at once. Raises AccountChanged when it was verified
        (or deleted) meanwhile, EmailTooSimilar, IdentityTaken, ProviderAlreadyLinked."""

    def unlink(self, user_id: str, provider: Provider) -> Identity:
        """Remove the identity, unless it is the last way to sign in (no password and no
        other identity: LastSignInMethodLeft). Raises NotLinked when there is none."""


class OAuthFlows(Protocol):  # OAuthService
    """Raises nothing."""

    def save(self, flow: OAuthFlow) -> None: ...

    def use(self, state_hash: str) -> tuple[OAuthFlow, bool] | None:
        """The flow and whether this call used it first (a conditional write: of racing
        callbacks with the same state exactly one gets True). None for an unknown state.
        Expiry is the caller's to check (TTL deletes late)."""


class LoginCodes(Protocol):  # OAuthService
    """Raises nothing."""

    def put(self, token: OneTimeToken) -> None: ...

    def take(self, token: OneTimeToken) -> OneTimeToken | None:
        """Delete and answer the stored token of `token.kind` and `token.token_hash` (the
        rest of `token` is ignored); None when there is none. Of racing takers exactly one
        gets it."""


class ProviderFailed(Exception):
    """The provider refused, failed, or answered something that does not verify."""

    def __init__(self, error: FlowError, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail


class ProviderClient(Protocol):
    provider: Provider

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        """Where the browser goes to sign in: the code flow with PKCE (S256) and, for
        OpenID Connect, the nonce. Raises ProviderFailed when the provider's metadata
        cannot be read."""

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        """Redeem the code (with the PKCE verifier) and answer who signed in: for OpenID
        Connect from the verified ID token (signature against the JWKS, iss, aud, exp,
        iat, nonce); for GitHub from /user and /user/emails. Raises ProviderFailed."""


class ProviderDirectory(Protocol):  # OAuthService
    def configured(self) -> list[Provider]:
        """The providers the platform configured, in Provider order."""

    def client(self, provider: Provider) -> ProviderClient | None:
        """None when the provider is not configured."""
