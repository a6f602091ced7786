"""Sign-in with GitHub, Google and GitLab: the accounts people hold there, and the rules
that tie one to an account here.

An identity is keyed by (provider, the provider's own user id), never by email: a person
who changes their address at GitHub keeps their account. The provider's email decides
only the first sign-in, and only when the provider has verified it:

- no account has that address: a verified account with no password is created;
- a verified account has it: the identity is linked and its owner is told by email;
- an unverified account has it (anyone may have pre-registered the address): the
  provider proved the inbox, so the sign-in takes the account over; the password,
  pending sign-ups and sessions of whoever pre-registered it are wiped;
- the provider has not verified it: nothing is linked or created; the person signs in
  with their password and links the provider from their account.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Provider(StrEnum):
    GITHUB = "github"
    GOOGLE = "google"
    GITLAB = "gitlab"


PROVIDER_NAMES = {Provider.GITHUB: "GitHub", Provider.GOOGLE: "Google", Provider.GITLAB: "GitLab"}


def provider_named(text: str) -> Provider | None:
    try:
        return Provider(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ProviderAccount:
    """What a provider asserted about the person who just signed in there."""

    provider: Provider
    # The provider's own, stable user id (GitHub's numeric id, the ID token's `sub`).
    subject: str
    # Canonical form (domain/emails.py), or None when the provider gave no usable address.
    email: str | None
    email_verified: bool
    name: str = ""


@dataclass(frozen=True)
class Identity:
    """A provider account linked to an account here."""

    provider: Provider
    subject: str
    user_id: str
    email: str | None
    linked_at: datetime


class FlowMode(StrEnum):
    SIGN_IN = "sign_in"
    LINK = "link"


OAUTH_FLOW_LIFETIME = timedelta(minutes=10)
LOGIN_CODE_LIFETIME = timedelta(seconds=60)
# The cookie that binds a flow to the browser that started it (README, "Sign in with
# GitHub, Google and GitLab"). `__Host-`: the browser takes it only from this host, with
# Secure and Path=/ and no Domain, so a sibling subdomain cannot plant its own beside it
# (a callback that carries the name twice is refused all the same).
BROWSER_COOKIE = "__Host-kuploy_oauth"
BROWSER_COOKIE_PATH = "/"
# The OpenID Connect limit on `sub` (Core §2), with room for a self-managed issuer
# (`provider_subject`); table keys stop at 2 KB.
MAX_SUBJECT_LENGTH = 255 + 1 + 256


@dataclass(frozen=True)
class OAuthFlow:
    """One authorization-code flow, from its start to its callback, stored server-side
    under the SHA-256 of its `state` and used once.

    Neither the PKCE verifier nor the nonce is stored: both are derived from the state
    and the browser's cookie secret (`flow_secrets`), which only that browser holds, so
    someone who intercepts the callback's code and state still cannot redeem the code."""

    state_hash: str
    provider: Provider
    mode: FlowMode
    redirect_to: str
    # SHA-256 of the browser cookie's secret.
    browser_hash: str
    expires_at: datetime
    # Link mode: the signed-in account the identity will be linked to, and the session
    # that started the flow (signing out ends the flow too).
    user_id: str | None = None
    session_id: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class FlowSecrets:
    code_verifier: str
    nonce: str


def _derive(label: str, state: str, browser_secret: str) -> str:
    digest = hashlib.sha256(f"{label}\x00{state}\x00{browser_secret}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def flow_secrets(state: str, browser_secret: str) -> FlowSecrets:
    """The PKCE verifier (43 characters of base64url, RFC 7636 §4.1) and the OIDC nonce
    of a flow, from its state and the starting browser's cookie secret."""
    return FlowSecrets(
        code_verifier=_derive("kuploy-pkce", state, browser_secret),
        nonce=_derive("kuploy-nonce", state, browser_secret),
    )


class LinkOutcome(StrEnum):
    """What a sign-in with a provider account that is linked to no account does."""

    CREATE = "create"
    LINK_VERIFIED = "link_verified"
    TAKE_OVER_UNVERIFIED = "take_over_unverified"
    REFUSE_UNVERIFIED_EMAIL = "refuse_unverified_email"


def first_sign_in(account: ProviderAccount, holder_verified: bool | None) -> LinkOutcome:
    """The module docstring's rules. `holder_verified`: whether the account that holds the
    provider's address here is verified (None: no account holds it)."""
    if account.email is None or not account.email_verified:
        return LinkOutcome.REFUSE_UNVERIFIED_EMAIL
    if holder_verified is None:
        return LinkOutcome.CREATE
    return LinkOutcome.LINK_VERIFIED if holder_verified else LinkOutcome.TAKE_OVER_UNVERIFIED


class FlowError(StrEnum):
    """The `error=` a callback sends back to `redirect_to`: clients branch on these."""

    ACCESS_DENIED = "access_denied"  # the person said no at the provider
    PROVIDER_ERROR = "provider_error"  # the provider answered an error, or nothing usable
    INVALID_STATE = "invalid_state"  # missing, unknown, used or expired state
    BROWSER_MISMATCH = "browser_mismatch"  # the flow was started in another browser
    EMAIL_NOT_VERIFIED = "email_not_verified"  # the provider has not verified the address
    EMAIL_TOO_SIMILAR = "email_too_similar"  # a verified look-alike address holds the look
    IDENTITY_IN_USE = "identity_in_use"  # link mode: linked to another account already
    PROVIDER_ALREADY_LINKED = "provider_already_linked"  # link mode: another one of this provider is
    ACCOUNT_GONE = "account_gone"  # link mode: the account was deleted meanwhile
    SESSION_ENDED = "session_ended"  # link mode: the session that started it ended meanwhile


_STATE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def provider_subject(user_id: str, issuer: str | None) -> str:
    """The key of a provider account: its user id at the public provider (issuer None),
    else `id@issuer`. Ids are unique per issuer only: an operator who points GitLab at a
    self-managed instance must not sign its user 123 in to the account gitlab.com's user
    123 linked."""
    return user_id if issuer is None else f"{user_id}@{issuer}"


def well_formed_state(state: str) -> bool:
    """What `new_secret` makes (256 bits of base64url): anything else is refused before
    the table is asked."""
    return _STATE_SHAPE.fullmatch(state) is not None


def redirect_allowed(redirect_to: str, allow_list: tuple[str, ...]) -> bool:
    """Exact match only: no prefix, no wildcard, no normalisation (open redirects are the
    classic OAuth bug; `https://console.example.com.evil.test` starts with an allowed URL)."""
    return redirect_to in allow_list
