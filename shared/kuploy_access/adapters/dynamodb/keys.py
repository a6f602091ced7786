"""The single table's keys: README's "Data" table, as code.

| item | pk | sk | gsi1pk / gsi1sk |
|---|---|---|---|
| user | `user_pk` | `PROFILE_SK` | |
| email guard (one account per address) | `email_guard_pk` | `EMAIL_GUARD_SK` | |
| skeleton guard (one verified account per look) | `email_skeleton_guard_pk` | `EMAIL_SKELETON_GUARD_SK` | |
| one-time token | `one_time_token_pk` | `ONE_TIME_TOKEN_SK` | |
| session | `user_pk` | `session_sk` | |
| identity (one account per provider account) | `identity_pk` | `IDENTITY_SK` | |
| the account's identity (one per provider and account) | `user_pk` | `account_identity_sk` | |
| OAuth flow (one sign-in with a provider, until its callback) | `oauth_flow_pk` | `OAUTH_FLOW_SK` | |
| refresh token (current and rotated) | `refresh_token_pk` | `REFRESH_TOKEN_SK` | |
| rate-limit counter | `rate_counter_pk` | `COUNTER_SK` | |
| consecutive login failures | `login_failures_pk` | `COUNTER_SK` | |
| MFA challenge attempts | `mfa_challenge_pk` | `COUNTER_SK` | |
| organization | `org_pk` | `ORG_SK` | |
| membership | `org_pk` | `member_sk` | `user_pk` / `org_pk` |
| invitation | `org_pk` | `invitation_sk` | `invitee_gsi1pk` / `invitation_sk` |
| invitation link | `invitation_link_pk` | `INVITATION_LINK_SK` | |
| invitee guard (one pending invitation per address) | `org_pk` | `invitee_sk` | |
| project, application, deployment, database, channel | `org_pk` | `resource_sk` | |
| audit event (an organization's, or an account's) | `audit_pk` | `event_sk` | |
| API key | `api_key_pk` | `API_KEY_SK` | `org_api_keys_gsi1pk` / `api_key_gsi1sk` |
| first answer to an Idempotency-Key (24 h) | `idempotency_pk` | `IDEMPOTENCY_SK` | |

Stored keys are data: a builder whose output changes strands every item written
before, so `tests/unit/test_table_keys.py` pins each one. A `..._PREFIX` is what a
Query's `begins_with` or a test's scan matches, and comes from its builder wherever the
key ends in the one value the builder is given.

Plain strings and nothing else at run time: the authorizer reads API keys through this
module (`adapters/api_key_lookup.py`), and its cold start pays for every import.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from kuploy_access.domain.one_time_tokens import TokenKind
    from kuploy_access.domain.rate_limits import RateLimit
    from kuploy_access.domain.resources import ResourceKind


def _digest(text: str) -> str:
    # Counters are keyed by a hash: addresses and IPs need not sit in the clear in them.
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --- accounts --------------------------------------------------------------------------


def user_pk(user_id: str) -> str:
    """An account's partition: its profile and its sessions."""
    return f"USER#{user_id}"


USER_PK_PREFIX = user_pk("")
PROFILE_SK = "PROFILE"


def email_guard_pk(address: str) -> str:
    return f"EMAIL#{address}"


EMAIL_GUARD_PK_PREFIX = email_guard_pk("")
EMAIL_GUARD_SK = "EMAIL"


def email_skeleton_guard_pk(skeleton: str) -> str:
    """`skeleton` is already the SHA-256 of the address's TR39 skeleton (domain/emails.py)."""
    return f"EMAILSKELETON#{skeleton}"


EMAIL_SKELETON_GUARD_PK_PREFIX = email_skeleton_guard_pk("")
EMAIL_SKELETON_GUARD_SK = "EMAILSKELETON"


def one_time_token_pk(kind: TokenKind, token_hash: str) -> str:
    """The kind is part of the key, so a token of one kind is never found as another.
    With an empty hash: the prefix of every token of that kind."""
    return f"TOKEN#{kind.value}#{token_hash}"


ONE_TIME_TOKEN_SK = "TOKEN"


def session_sk(session_id: str) -> str:
    return f"SESSION#{session_id}"


SESSION_SK_PREFIX = session_sk("")


def refresh_token_pk(token_hash: str) -> str:
    return f"REFRESH#{token_hash}"


REFRESH_TOKEN_PK_PREFIX = refresh_token_pk("")
REFRESH_TOKEN_SK = "REFRESH"


# --- sign-in with providers ------------------------------------------------------------

IDENTITY_PK_PREFIX = "IDENTITY#"


def identity_pk(provider: str, subject: str) -> str:
    """A provider account (a `Provider`, which is its value as a string, and the
    provider's own user id): which account here it signs in to. One item per provider
    account: its creation is the one-account-per-provider-account invariant."""
    return f"{IDENTITY_PK_PREFIX}{provider}#{subject}"


IDENTITY_SK = "IDENTITY"


def account_identity_sk(provider: str) -> str:
    """The same link in the account's partition: one per provider and account, and the
    account's identities are one Query."""
    return f"IDENTITY#{provider}"


ACCOUNT_IDENTITY_SK_PREFIX = account_identity_sk("")


def oauth_flow_pk(state_hash: str) -> str:
    """A flow in progress, under the SHA-256 of its `state`."""
    return f"OAUTHFLOW#{state_hash}"


OAUTH_FLOW_PK_PREFIX = oauth_flow_pk("")
OAUTH_FLOW_SK = "OAUTHFLOW"


# --- counters --------------------------------------------------------------------------

COUNTER_SK = "COUNTER"
RATE_COUNTER_PK_PREFIX = "RATE#"


def rate_counter_pk_prefix(limit: RateLimit) -> str:
    """Every window's counters of one limit."""
    return f"{RATE_COUNTER_PK_PREFIX}{limit.name}#"


def rate_counter_pk(limit: RateLimit, key: str, at: datetime) -> str:
    """One item per (limit, key, window): the window starting at or before `at`."""
    return f"{rate_counter_pk_prefix(limit)}{_digest(key)}#{limit.window_start(at)}"


LOGIN_FAILURES_PK_PREFIX = "LOGINFAIL#"


def login_failures_pk(address: str) -> str:
    """An account's consecutive password failures (domain/login_throttle.py)."""
    return f"{LOGIN_FAILURES_PK_PREFIX}{_digest(address)}"


def mfa_challenge_pk(challenge_id: str) -> str:
    """The wrong codes of one sign-in's second-factor challenge."""
    return f"MFA#{challenge_id}"


# --- organizations ---------------------------------------------------------------------


def org_pk(org_id: str) -> str:
    """An organization's partition: its profile, members, invitations, invitee guards and
    resources. Also a membership's index sort key (an account's organizations)."""
    return f"ORG#{org_id}"


ORG_PK_PREFIX = org_pk("")
ORG_SK = "ORG"


def member_sk(user_id: str) -> str:
    return f"MEMBER#{user_id}"


MEMBER_SK_PREFIX = member_sk("")


def invitation_sk(invitation_id: str) -> str:
    """The invitation's record in its organization; also its index sort key."""
    return f"INVITATION#{invitation_id}"


INVITATION_SK_PREFIX = invitation_sk("")


def invitee_sk(address: str) -> str:
    """The invitee guard: at most one pending invitation per address and organization."""
    return f"INVITEE#{address}"


INVITEE_SK_PREFIX = invitee_sk("")


def invitee_gsi1pk(address: str) -> str:
    """An address's invitations, across organizations, in the inverted index."""
    return invitee_sk(address)


def invitation_link_pk(token_hash: str) -> str:
    """The invitation's copy under its link's hash: the emailed link is one GetItem."""
    return f"INVTOKEN#{token_hash}"


INVITATION_LINK_PK_PREFIX = invitation_link_pk("")
INVITATION_LINK_SK = "TOKEN"

_RESOURCE_SK_TAGS = {
    "project": "PRJ",
    "application": "APP",
    "deployment": "DEP",
    "database": "DB",
    "notification_channel": "NCH",
}


def resource_sk(kind: ResourceKind, parent_id: str, resource_id: str) -> str:
    """Children sort under their parent (`APP#<prj>#<app>`, `DEP#<app>#<dep>`), so a
    project's applications, or an application's deployments, are one Query."""
    tag = _RESOURCE_SK_TAGS[kind.value]
    return f"{tag}#{parent_id}#{resource_id}" if parent_id else f"{tag}#{resource_id}"


def resource_sk_prefix(kind: ResourceKind, parent_id: str = "") -> str:
    """Every resource of a kind (under one parent, for nested kinds)."""
    return resource_sk(kind, parent_id, "")


# --- audit -----------------------------------------------------------------------------


def audit_pk(owner_id: str) -> str:
    """An organization's audit log, or an account's own security log (by user id)."""
    return f"AUDIT#{owner_id}"


AUDIT_PK_PREFIX = audit_pk("")


def event_sk(event_id: str) -> str:
    """Event ids sort by time: a Query backwards is newest first."""
    return f"EVT#{event_id}"


EVENT_SK_PREFIX = event_sk("")


# --- API keys --------------------------------------------------------------------------


def api_key_pk(key_hash: str) -> str:
    """Under the SHA-256 of the secret: what the authorizer reads."""
    return f"APIKEY#{key_hash}"


API_KEY_PK_PREFIX = api_key_pk("")
API_KEY_SK = "APIKEY"


def org_api_keys_gsi1pk(org_id: str) -> str:
    return f"ORGKEYS#{org_id}"


def api_key_gsi1sk(key_id: str) -> str:
    return f"KEY#{key_id}"


API_KEY_GSI1SK_PREFIX = api_key_gsi1sk("")


# --- Idempotency-Key ---------------------------------------------------------------------


def idempotency_pk(digest: str) -> str:
    """The first answer to one Idempotency-Key of one caller on one route, under the
    SHA-256 of that scope and key (domain/idempotency.py): one partition per key."""
    return f"IDEMPOTENCY#{digest}"


IDEMPOTENCY_PK_PREFIX = idempotency_pk("")
IDEMPOTENCY_SK = "IDEMPOTENCY"
