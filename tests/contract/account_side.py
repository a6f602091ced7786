"""The account side's ports, twice: the unit tests' in-memory fakes and the DynamoDB
adapters (on the module's moto world). Each contract suite runs the same cases on both.

The repositories of one side share their state, as the adapters share the table: a
login budget sees the account `users.create` wrote, an unlock shows in the audit log.
Every moment is fixed (no wall clock), and every id is chosen, so a run is the same on
any machine and any day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from kuploy_access.domain.audit import Actor, AuditEvent, audit_event
from kuploy_access.domain.one_time_tokens import TOKEN_LIFETIMES, OneTimeToken, RequestOrigin, TokenKind, hash_secret
from kuploy_access.domain.sessions import Session
from kuploy_access.domain.users import User
from tests.contract.ports import (
    AuditLog,
    Limiter,
    LoginThrottle,
    Organizations,
    SessionRepository,
    TokenRepository,
    TwoFactor,
    Users,
)

# Halfway through a quarter hour: minutes from the edge of every window (the login and
# 2FA windows are 15 minutes long, the email ones an hour).
NOW = datetime(2031, 3, 4, 9, 7, 30, tzinfo=UTC)
ORIGIN = RequestOrigin(at=NOW, ip="198.51.100.20", user_agent="Mozilla/5.0 Firefox/133.0")
ADA = "ada@example.com"


@dataclass
class AccountSide:
    users: Users
    tokens: TokenRepository
    sessions: SessionRepository
    limiter: Limiter
    throttle: LoginThrottle
    factors: TwoFactor
    audit: AuditLog
    # Only to give an account memberships (2FA's member copies).
    orgs: Organizations


def fake_side() -> AccountSide:
    from tests.unit.fakes import (
        FakeAccountTrail,
        FakeLoginThrottle,
        FakeRateLimiter,
        FakeSessions,
        FakeTokens,
        FakeUsers,
    )
    from tests.unit.org_fakes import FakeOrganizations, OrgStore
    from tests.unit.two_factor_fakes import FakeTwoFactor

    tokens = FakeTokens()
    trail = FakeAccountTrail()
    users = FakeUsers(tokens, trail)
    limiter = FakeRateLimiter(users)
    store = OrgStore()
    return AccountSide(
        users=users,
        tokens=tokens,
        sessions=FakeSessions(),
        limiter=limiter,
        throttle=FakeLoginThrottle(users, limiter, trail),
        factors=FakeTwoFactor(users, store.members),
        audit=trail,
        orgs=FakeOrganizations(store),
    )


@cache
def dynamo_side() -> AccountSide:
    """Made once: the adapters keep no state but their clients, which cost more to build
    than most tests take, and outlive a moto world as the wiring's do."""
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle
    from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository

    return AccountSide(
        users=DynamoUserRepository(),
        tokens=DynamoTokenRepository(),
        sessions=DynamoSessionRepository(),
        limiter=DynamoRateLimiter(),
        throttle=DynamoLoginThrottle(),
        factors=DynamoTwoFactorRepository(),
        audit=DynamoAuditLog(),
        orgs=DynamoOrganizationRepository(),
    )


def account_side(request: pytest.FixtureRequest) -> AccountSide:
    """For a fixture with params=["fake", "dynamo"]."""
    if request.param == "fake":
        return fake_side()
    request.getfixturevalue("moto_table")
    return dynamo_side()


# --- builders ------------------------------------------------------------------------


def a_user(email: str = ADA, user_id: str = "usr_ada", password_hash: str | None = "$argon2id$first") -> User:
    return User(
        id=user_id,
        email=email,
        name="Ada",
        password_hash=password_hash,
        email_verified=False,
        two_factor_enabled=False,
        created_at=NOW,
    )


def a_token(
    user_id: str,
    secret: str,
    kind: TokenKind = TokenKind.EMAIL_VERIFICATION,
    password_hash: str | None = None,
) -> OneTimeToken:
    verification = kind is TokenKind.EMAIL_VERIFICATION
    return OneTimeToken(
        kind=kind,
        token_hash=hash_secret(secret),
        user_id=user_id,
        expires_at=NOW + TOKEN_LIFETIMES[kind],
        password_hash=password_hash,
        origin=ORIGIN if verification else None,
    )


def signed_up(
    side: AccountSide, email: str = ADA, user_id: str = "usr_ada", password_hash: str = "$argon2id$first"
) -> tuple[User, OneTimeToken]:
    """An account as sign-up writes it: unverified, its first link bound to its password."""
    token = a_token(user_id, f"first link of {user_id}", password_hash=password_hash)
    user = replace(a_user(email, user_id, password_hash), pending_verification_hashes=frozenset({token.token_hash}))
    side.users.create(user, token)
    return user, token


def verified(side: AccountSide, email: str = ADA, user_id: str = "usr_ada") -> User:
    """An account whose owner followed the first link."""
    _, token = signed_up(side, email, user_id)
    side.users.verify_email(token, email)
    side.users.discard_verifications(user_id, token.token_hash)
    user = side.users.get(user_id)
    assert user is not None and user.email_verified
    return user


def a_session(
    session_id: str = "ses_one", user_id: str = "usr_ada", refresh_hash: str = "refresh-1", auth_time: datetime = NOW
) -> Session:
    return Session(
        id=session_id,
        user_id=user_id,
        created_at=NOW,
        last_used_at=NOW,
        expires_at=NOW + timedelta(days=30),
        ip="198.51.100.20",
        user_agent="Firefox",
        refresh_token_hash=refresh_hash,
        idle_expires_at=NOW + timedelta(days=7),
        auth_time=auth_time,
    )


def an_event(user_id: str = "usr_ada", action: str = "login.succeeded", at: datetime = NOW) -> AuditEvent:
    actor = Actor("user", user_id, ADA)
    return audit_event(user_id, at, actor, action, user_id, "198.51.100.20", "Firefox", why="a test")
