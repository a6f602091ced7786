"""What each contract suite holds a fake and an adapter to: every port one adapter
class implements, joined. The services each ask for a slice (services/ports/); the
suite checks the whole surface, so no slice can drift."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.services.ports.api_keys import ApiKeyRepository, ApiKeyRoster
from kuploy_access.services.ports.audit import AuditReader, SignInAudit
from kuploy_access.services.ports.identities import IdentityStore, LoginCodes, OAuthFlows
from kuploy_access.services.ports.invitations import InvitationRoster, InvitationStore, InvitationSweep
from kuploy_access.services.ports.organizations import (
    MemberRoster,
    MemberStore,
    OrgAccess,
    OrganizationStore,
    UserMemberships,
)
from kuploy_access.services.ports.resources import ResourceRepository
from kuploy_access.services.ports.sessions import SessionRepository
from kuploy_access.services.ports.throttling import LoginThrottle, RateLimiter
from kuploy_access.services.ports.tokens import TokenRepository
from kuploy_access.services.ports.two_factor import FactorReset, TwoFactorStore
from kuploy_access.services.ports.users import PasswordResets, ProfileStore, UserRegistry


class Users(UserRegistry, PasswordResets, ProfileStore, Protocol):
    """DynamoUserRepository and FakeUsers."""


class Organizations(OrgAccess, OrganizationStore, MemberStore, MemberRoster, UserMemberships, Protocol):
    """DynamoOrganizationRepository and FakeOrganizations."""


class Invitations(InvitationStore, InvitationSweep, InvitationRoster, Protocol):
    """DynamoInvitationRepository and FakeInvitations."""


class ApiKeys(ApiKeyRepository, ApiKeyRoster, Protocol):
    """DynamoApiKeyRepository and FakeApiKeys."""


class AuditLog(SignInAudit, AuditReader, Protocol):
    """DynamoAuditLog and the fake account trail."""


class Limiter(RateLimiter, Protocol):
    """DynamoRateLimiter and FakeRateLimiter: no service reads a count, the contract does."""

    def count(self, limit: RateLimit, key: str, now: datetime) -> int: ...


class TwoFactor(TwoFactorStore, FactorReset, Protocol):
    """DynamoTwoFactorRepository and FakeTwoFactor."""


class Identities(IdentityStore, Protocol):
    """DynamoIdentityStore and FakeIdentities (IdentityStore holds IdentityLookup)."""


class Tokens(TokenRepository, LoginCodes, Protocol):
    """DynamoTokenRepository and FakeLoginCodes: the login codes are one-time tokens."""


__all__ = [
    "ApiKeys",
    "AuditLog",
    "Identities",
    "Invitations",
    "Limiter",
    "LoginThrottle",
    "OAuthFlows",
    "Organizations",
    "RateLimiter",
    "ResourceRepository",
    "SessionRepository",
    "TokenRepository",
    "Tokens",
    "TwoFactor",
    "Users",
]
